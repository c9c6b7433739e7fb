import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { ApiError, get, newKey, query, request, type Candidate, type Page } from "../api";
import { ErrorBox, Notice, Spinner, formatDate, label, useLoad } from "../components/common";
import type { Incident } from "./incidents";

export interface Person {
  id: string;
  given_name: string;
  family_name: string;
  aliases?: string[];
  date_of_birth?: string | null;
  birth_year?: number | null;
  score?: number;
}

interface PersonLink {
  person_id?: string;
  role: string;
  notes?: string | null;
  person?: Person;
  given_name?: string;
  family_name?: string;
  [key: string]: unknown;
}

const ROLES = ["suspect", "accused", "victim", "witness", "complainant"];

function personName(p: { given_name?: string; family_name?: string }): string {
  return `${p.given_name || ""} ${p.family_name || ""}`.trim() || "(name withheld)";
}

export function PersonSearch() {
  const [params, setParams] = useSearchParams();
  const [name, setName] = useState(params.get("name") || "");
  const current = params.get("name") || "";
  const { data, error, loading } = useLoad(
    () => (current.length >= 2 ? get<Page<Person>>(`/api/v1/records/persons${query({ name: current, limit: 20 })}`) : Promise.resolve(null)),
    [current],
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setParams(name.trim() ? { name: name.trim() } : {});
  };
  return (
    <section>
      <h1>Persons</h1>
      <form className="filters" onSubmit={submit}>
        <label>
          Name (spelling mistakes and partial names are fine)
          <input name="name" value={name} onChange={(e) => setName(e.target.value)} minLength={2} required />
        </label>
        <button type="submit" className="primary">Search</button>
      </form>
      <ErrorBox error={error} />
      {loading && current && <Spinner />}
      {data && data.items.length === 0 && <Notice>No one with a name like “{current}”.</Notice>}
      <div className="cards">
        {data?.items.map((person) => <PersonCard key={person.id} person={person} />)}
      </div>
    </section>
  );
}

function PersonCard({ person }: { person: Person }) {
  const [open, setOpen] = useState(false);
  return (
    <div className="card person-card">
      <h3>{personName(person)}</h3>
      <p className="muted">
        {person.date_of_birth ? `Born ${person.date_of_birth}` : person.birth_year ? `Born ${person.birth_year}` : "Date of birth unknown"}
        {person.aliases && person.aliases.length ? ` · also known as ${person.aliases.join(", ")}` : ""}
        {person.score !== undefined ? ` · match ${Math.round(person.score * 100)}%` : ""}
      </p>
      <button onClick={() => setOpen(!open)}>{open ? "Hide incidents" : "Show incidents"}</button>
      {open && <PersonIncidents personId={person.id} />}
    </div>
  );
}

function PersonIncidents({ personId }: { personId: string }) {
  const { data, error, loading } = useLoad(
    () => get<Page<Incident & { role?: string; link_id?: string }>>(`/api/v1/records/persons/${personId}/incidents`),
    [personId],
  );
  if (loading) return <Spinner />;
  if (error instanceof ApiError && error.status === 404 && String(error.problem.detail || "").startsWith("No route")) {
    return <Notice>This server cannot list a person's incidents yet.</Notice>;
  }
  if (error) return <ErrorBox error={error} />;
  if (!data || data.items.length === 0) return <Notice>Not linked to any incident.</Notice>;
  return (
    <ul className="plain">
      {data.items.map((incident) => (
        <li key={incident.link_id ?? `${incident.id}-${incident.role ?? ""}`}>
          <Link to={`/incidents/${incident.id}`}>{incident.crime_id}</Link> · {label(incident.category)} ·{" "}
          {formatDate(incident.occurred_from)}
          {incident.role ? ` · ${label(incident.role)}` : ""}
        </li>
      ))}
    </ul>
  );
}

/** Persons linked to an incident, and adding one with duplicate suggestions. */
export function IncidentPersons({ incident }: { incident: Incident }) {
  const { data, error, reload } = useLoad(
    () => get<Page<PersonLink>>(`/api/v1/records/incidents/${incident.id}/persons`),
    [incident.id],
  );
  const [given, setGiven] = useState("");
  const [family, setFamily] = useState("");
  const [dob, setDob] = useState("");
  const [role, setRole] = useState("victim");
  const [candidates, setCandidates] = useState<Candidate[] | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const link = async (personId: string) => {
    await request(`/api/v1/records/incidents/${incident.id}/persons`, {
      json: { person_id: personId, role },
      idempotencyKey: newKey(),
    });
    setGiven("");
    setFamily("");
    setDob("");
    setCandidates(null);
    reload();
  };

  const add = async (confirmNew: boolean) => {
    setBusy(true);
    setActionError(null);
    try {
      const { data: person } = await request<Person>("/api/v1/records/persons", {
        json: {
          given_name: given,
          family_name: family,
          date_of_birth: dob || null,
          confirm_new: confirmNew,
        },
        idempotencyKey: newKey(),
      });
      await link(person.id);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409 && err.problem.candidates) {
        setCandidates(err.problem.candidates);
      } else {
        setActionError(err);
      }
    } finally {
      setBusy(false);
    }
  };

  const chooseExisting = async (personId: string) => {
    setActionError(null);
    try {
      await link(personId);
    } catch (err) {
      setActionError(err);
    }
  };

  return (
    <div className="card">
      <h2>Persons</h2>
      <ErrorBox error={error} />
      {data && data.items.length === 0 && <p className="muted">No one linked yet.</p>}
      <ul className="plain">
        {data?.items.map((link, index) => {
          const person = (link.person as Person | undefined) || (link as unknown as Person);
          return (
            <li key={index}>
              <strong>{personName(person)}</strong> · {label(link.role)}
              {link.notes ? ` · ${link.notes}` : ""}
            </li>
          );
        })}
      </ul>
      <form className="row wrap" onSubmit={(e) => { e.preventDefault(); add(false); }}>
        <input name="given_name" placeholder="Given name" value={given} onChange={(e) => setGiven(e.target.value)} required />
        <input name="family_name" placeholder="Family name" value={family} onChange={(e) => setFamily(e.target.value)} required />
        <input name="date_of_birth" type="date" aria-label="Date of birth" value={dob} onChange={(e) => setDob(e.target.value)} />
        <select name="role" value={role} onChange={(e) => setRole(e.target.value)} aria-label="Role">
          {ROLES.map((r) => <option key={r} value={r}>{label(r)}</option>)}
        </select>
        <button type="submit" disabled={busy}>Add person</button>
      </form>
      {candidates && (
        <div className="candidates" role="region" aria-label="Possible duplicates">
          <p>
            <strong>This person may already be on file.</strong> Link one of these, or add a new person if it
            is somebody else.
          </p>
          <ul className="plain">
            {candidates.map((c) => (
              <li key={c.id}>
                {personName(c)} {c.date_of_birth ? `(born ${c.date_of_birth})` : ""}
                {c.score !== undefined ? ` · match ${Math.round(Number(c.score) * 100)}%` : ""}{" "}
                <button onClick={() => chooseExisting(c.id)}>Link this person</button>
              </li>
            ))}
          </ul>
          <button onClick={() => add(true)}>It is somebody else — add new</button>
        </div>
      )}
      <ErrorBox error={actionError} />
    </div>
  );
}
