import { useState, type FormEvent } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { get, newKey, query, request, type Page } from "../api";
import {
  CATEGORIES, ErrorBox, Notice, Spinner, StatusBadge, formatDate, fromLocalInput, label,
  toLocalInput, useLoad,
} from "../components/common";
import { LocationPicker, PointsMap } from "../components/maps";
import { PRIVILEGED, WRITERS, useSession } from "../session";
import { OpenCaseButton } from "./cases";
import { IncidentDocuments } from "./documents";
import { IncidentPersons } from "./persons";

export interface Incident {
  id: string;
  crime_id: string;
  category: string;
  category_label?: string;
  occurred_from: string;
  occurred_to: string | null;
  reported_at: string;
  address: string | null;
  lat: number | null;
  lon: number | null;
  area: string | null;
  premises_type: string | null;
  narrative: string | null;
  station_id: string;
  review_status: string;
  status: string;
  sealed: boolean;
  sealed_reason?: string | null;
  version: number;
}

export function IncidentList() {
  const { has } = useSession();
  const [params, setParams] = useSearchParams();
  const [crimeId, setCrimeId] = useState(params.get("crime_id") || "");
  const [view, setView] = useState<"list" | "map">("list");
  const filters = {
    crime_id: params.get("crime_id"),
    category: params.get("category"),
    status: params.get("status"),
    review_status: params.get("review_status"),
    limit: 100,
  };
  const { data, error, loading } = useLoad(
    () => get<Page<Incident>>(`/api/v1/records/incidents${query(filters)}`),
    [params.toString()],
  );
  const set = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next);
  };
  const search = (event: FormEvent) => {
    event.preventDefault();
    set("crime_id", crimeId.trim().toUpperCase());
  };
  const points = (data?.items || [])
    .filter((i) => i.lat !== null && i.lon !== null)
    .map((i) => ({
      id: i.id,
      lat: i.lat as number,
      lon: i.lon as number,
      title: `${i.crime_id} · ${label(i.category)}`,
      body: (
        <div>
          {formatDate(i.occurred_from)}
          <br />
          <Link to={`/incidents/${i.id}`}>Open</Link>
        </div>
      ),
    }));
  return (
    <section>
      <div className="page-head">
        <h1>Incidents</h1>
        {has(...WRITERS) && (
          <Link className="button primary" to="/incidents/new">
            New incident
          </Link>
        )}
      </div>
      <form className="filters" onSubmit={search}>
        <label>
          Crime ID
          <input name="crime_id" placeholder="CR-2026-000123" value={crimeId}
            onChange={(e) => setCrimeId(e.target.value)} />
        </label>
        <label>
          Category
          <select value={params.get("category") || ""} onChange={(e) => set("category", e.target.value)}>
            <option value="">All</option>
            {CATEGORIES.map((c) => (
              <option key={c} value={c}>{label(c)}</option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select value={params.get("status") || ""} onChange={(e) => set("status", e.target.value)}>
            <option value="">All</option>
            <option value="reported">Reported</option>
            <option value="under_investigation">Under investigation</option>
            <option value="closed">Closed</option>
          </select>
        </label>
        <button type="submit">Search</button>
        <div className="toggle" role="group" aria-label="View">
          <button type="button" className={view === "list" ? "active" : ""} onClick={() => setView("list")}>List</button>
          <button type="button" className={view === "map" ? "active" : ""} onClick={() => setView("map")}>Map</button>
        </div>
      </form>
      <p className="muted small">
        Looking for someone by name? <Link to="/persons">Search persons</Link> — spelling mistakes are fine.
      </p>
      <ErrorBox error={error} />
      {loading && <Spinner />}
      {data && data.items.length === 0 && <Notice>No incidents match.</Notice>}
      {data && view === "map" && <PointsMap points={points} />}
      {data && view === "list" && data.items.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th>Crime ID</th>
              <th>Category</th>
              <th className="hide-sm">When</th>
              <th className="hide-sm">Where</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((i) => (
              <tr key={i.id}>
                <td><Link to={`/incidents/${i.id}`}>{i.crime_id}</Link></td>
                <td>{i.category_label || label(i.category)}</td>
                <td className="hide-sm">{formatDate(i.occurred_from)}</td>
                <td className="hide-sm">{i.address || i.area || "—"}</td>
                <td>
                  <StatusBadge value={i.status} /> <StatusBadge value={i.review_status} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

interface FormState {
  category: string;
  occurred_from: string;
  occurred_to: string;
  address: string;
  area: string;
  premises_type: string;
  narrative: string;
  lat: number | null;
  lon: number | null;
}

function formFrom(incident: Incident | null): FormState {
  return {
    category: incident?.category || "",
    occurred_from: toLocalInput(incident?.occurred_from) || "",
    occurred_to: toLocalInput(incident?.occurred_to),
    address: incident?.address || "",
    area: incident?.area || "",
    premises_type: incident?.premises_type || "",
    narrative: incident?.narrative || "",
    lat: incident?.lat ?? null,
    lon: incident?.lon ?? null,
  };
}

export function IncidentForm() {
  const { id } = useParams();
  const editing = Boolean(id);
  const { data: existing, error: loadError, loading } = useLoad(
    async () => {
      if (!id) return null;
      const answer = await request<Incident>(`/api/v1/records/incidents/${id}`);
      return { incident: answer.data, etag: answer.etag };
    },
    [id],
  );
  if (editing && loading) return <Spinner />;
  if (loadError) return <ErrorBox error={loadError} />;
  return <IncidentEditor key={id || "new"} incident={existing?.incident || null} etag={existing?.etag || null} />;
}

function IncidentEditor({ incident, etag }: { incident: Incident | null; etag: string | null }) {
  const navigate = useNavigate();
  const [form, setForm] = useState<FormState>(formFrom(incident));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [key] = useState(newKey());
  const [reason, setReason] = useState("");
  const approved = incident?.review_status === "approved";
  const update = (field: keyof FormState, value: string | number | null) =>
    setForm((f) => ({ ...f, [field]: value }));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const payload: Record<string, unknown> = {
      category: form.category,
      occurred_from: fromLocalInput(form.occurred_from),
      occurred_to: fromLocalInput(form.occurred_to),
      address: form.address || null,
      area: form.area || null,
      premises_type: form.premises_type || null,
      narrative: form.narrative || null,
      lat: form.lat,
      lon: form.lon,
    };
    try {
      if (!incident) {
        const { data } = await request<Incident>("/api/v1/records/incidents", {
          json: payload,
          idempotencyKey: key,
        });
        navigate(`/incidents/${data.id}`, { state: { created: true } });
      } else if (approved) {
        await request(`/api/v1/records/incidents/${incident.id}/amendments`, {
          json: { reason, changes: payload },
          ifMatch: etag,
        });
        navigate(`/incidents/${incident.id}`);
      } else {
        await request(`/api/v1/records/incidents/${incident.id}`, {
          method: "PATCH",
          json: payload,
          ifMatch: etag,
        });
        navigate(`/incidents/${incident.id}`);
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h1>{incident ? `Edit ${incident.crime_id}` : "New incident"}</h1>
      <form className="grid-form" onSubmit={submit}>
        <label>
          Offence category
          <select name="category" value={form.category} onChange={(e) => update("category", e.target.value)} required>
            <option value="">Choose…</option>
            {CATEGORIES.map((c) => (
              <option key={c} value={c}>{label(c)}</option>
            ))}
          </select>
        </label>
        <label>
          When it happened
          <input name="occurred_from" type="datetime-local" value={form.occurred_from}
            onChange={(e) => update("occurred_from", e.target.value)} required />
        </label>
        <label>
          Until (if a period)
          <input name="occurred_to" type="datetime-local" value={form.occurred_to}
            onChange={(e) => update("occurred_to", e.target.value)} />
        </label>
        <label>
          Address
          <input name="address" value={form.address} onChange={(e) => update("address", e.target.value)} />
        </label>
        <label>
          Area / neighbourhood
          <input name="area" value={form.area} onChange={(e) => update("area", e.target.value)} />
        </label>
        <label>
          Premises
          <select name="premises_type" value={form.premises_type} onChange={(e) => update("premises_type", e.target.value)}>
            <option value="">—</option>
            {["Apartment", "House", "Commercial", "Outside", "Transit", "Educational", "Other"].map((p) => (
              <option key={p} value={p}>{p}</option>
            ))}
          </select>
        </label>
        <div className="wide">
          <span className="field-label">Location — click the map</span>
          <LocationPicker lat={form.lat} lon={form.lon}
            onPick={(lat, lon) => setForm((f) => ({ ...f, lat, lon }))} />
          <div className="row">
            <label>
              Latitude
              <input name="lat" type="number" step="any" value={form.lat ?? ""}
                onChange={(e) => update("lat", e.target.value === "" ? null : Number(e.target.value))} />
            </label>
            <label>
              Longitude
              <input name="lon" type="number" step="any" value={form.lon ?? ""}
                onChange={(e) => update("lon", e.target.value === "" ? null : Number(e.target.value))} />
            </label>
          </div>
        </div>
        <label className="wide">
          Narrative
          <textarea name="narrative" rows={6} value={form.narrative}
            onChange={(e) => update("narrative", e.target.value)} />
        </label>
        {approved && (
          <label className="wide">
            Reason for amending an approved report (kept in the audit log)
            <input name="reason" value={reason} onChange={(e) => setReason(e.target.value)} required minLength={3} />
          </label>
        )}
        <div className="wide">
          <ErrorBox error={error} />
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Saving…" : incident ? "Save changes" : "File incident"}
          </button>
        </div>
      </form>
    </section>
  );
}

export function IncidentDetail() {
  const { id } = useParams();
  const { has } = useSession();
  const { data, error, loading, reload } = useLoad(
    () => request<Incident>(`/api/v1/records/incidents/${id}`),
    [id],
  );
  const [actionError, setActionError] = useState<unknown>(null);
  const [note, setNote] = useState("");
  const [sealReason, setSealReason] = useState("");
  if (loading && !data) return <Spinner />;
  if (error) return <ErrorBox error={error} />;
  if (!data) return null;
  const incident = data.data;
  const act = async (path: string, body: unknown) => {
    setActionError(null);
    try {
      await request(`/api/v1/records/incidents/${incident.id}/${path}`, { json: body, ifMatch: data.etag });
      setNote("");
      setSealReason("");
      reload();
    } catch (err) {
      setActionError(err);
    }
  };
  const canWrite = has(...WRITERS);
  const privileged = has(...PRIVILEGED);
  return (
    <section>
      <div className="page-head">
        <h1>
          {incident.crime_id} <span className="muted">· {incident.category_label || label(incident.category)}</span>
        </h1>
        {canWrite && (
          <Link className="button" to={`/incidents/${incident.id}/edit`}>Edit</Link>
        )}
      </div>
      <div className="badges">
        <StatusBadge value={incident.status} /> <StatusBadge value={incident.review_status} />
        {incident.sealed && <span className="badge badge-sealed">Sealed</span>}
      </div>
      <div className="two-col">
        <dl className="facts">
          <dt>Occurred</dt>
          <dd>{formatDate(incident.occurred_from)}{incident.occurred_to ? ` – ${formatDate(incident.occurred_to)}` : ""}</dd>
          <dt>Reported</dt>
          <dd>{formatDate(incident.reported_at)}</dd>
          <dt>Address</dt>
          <dd>{incident.address || "—"}</dd>
          <dt>Area</dt>
          <dd>{incident.area || "—"}</dd>
          <dt>Premises</dt>
          <dd>{incident.premises_type || "—"}</dd>
          <dt>Station</dt>
          <dd>{incident.station_id}</dd>
          <dt>Narrative</dt>
          <dd className="narrative">{incident.narrative || "—"}</dd>
        </dl>
        {incident.lat !== null && incident.lon !== null ? (
          <PointsMap height={280} points={[{ id: incident.id, lat: incident.lat, lon: incident.lon, title: incident.crime_id }]} />
        ) : (
          <Notice>No location recorded.</Notice>
        )}
      </div>
      <ErrorBox error={actionError} />
      {canWrite && (
        <div className="actions card">
          <h2>Workflow</h2>
          <label>
            Note or comment
            <input name="note" value={note} onChange={(e) => setNote(e.target.value)} />
          </label>
          <div className="row wrap">
            {["draft", "returned"].includes(incident.review_status) && (
              <button onClick={() => act("review", { action: "submit", note: note || null })}>Submit for review</button>
            )}
            {privileged && incident.review_status === "submitted" && (
              <>
                <button className="primary" onClick={() => act("review", { action: "approve", note: note || null })}>Approve</button>
                <button onClick={() => act("review", { action: "return", note: note || null })}>Return with comment</button>
              </>
            )}
            {incident.status === "reported" && (
              <button onClick={() => act("status", { status: "under_investigation" })}>Start investigation</button>
            )}
            {privileged && incident.status !== "closed" && incident.review_status === "approved" && (
              <button onClick={() => act("status", { status: "closed" })}>Close</button>
            )}
            <OpenCaseButton incidentId={incident.id} crimeId={incident.crime_id} />
          </div>
          {privileged && (
            <div className="row wrap">
              <input name="seal_reason" placeholder="Court order / reason" value={sealReason}
                onChange={(e) => setSealReason(e.target.value)} />
              <button disabled={sealReason.trim().length < 3}
                onClick={() => act(incident.sealed ? "unseal" : "seal", { reason: sealReason })}>
                {incident.sealed ? "Lift seal" : "Seal record"}
              </button>
            </div>
          )}
        </div>
      )}
      {has("admin", "supervisor", "officer") && <IncidentPersons incident={incident} />}
      {has("admin", "supervisor", "officer") && <IncidentDocuments ownerType="incident" ownerId={incident.id} />}
    </section>
  );
}

export function ReviewQueue() {
  const { data, error, loading, reload } = useLoad(
    () => get<Page<Incident>>(`/api/v1/records/incidents${query({ review_status: "submitted", limit: 100 })}`),
    [],
  );
  const [notes, setNotes] = useState<Record<string, string>>({});
  const [actionError, setActionError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const decide = async (incident: Incident, action: "approve" | "return") => {
    setActionError(null);
    try {
      const fresh = await request<Incident>(`/api/v1/records/incidents/${incident.id}`);
      await request(`/api/v1/records/incidents/${incident.id}/review`, {
        json: { action, note: notes[incident.id] || null },
        ifMatch: fresh.etag,
      });
      setDone(`${incident.crime_id} ${action === "approve" ? "approved" : "returned to the officer"}.`);
      reload();
    } catch (err) {
      setActionError(err);
    }
  };
  return (
    <section>
      <h1>Review queue</h1>
      <p className="muted">Reports submitted by officers, waiting for a supervisor.</p>
      {done && <Notice>{done}</Notice>}
      <ErrorBox error={actionError || error} />
      {loading && <Spinner />}
      {data && data.items.length === 0 && <Notice>Nothing is waiting for review.</Notice>}
      <div className="cards">
        {data?.items.map((incident) => (
          <div key={incident.id} className="card">
            <h3>
              <Link to={`/incidents/${incident.id}`}>{incident.crime_id}</Link> · {label(incident.category)}
            </h3>
            <p className="muted">{formatDate(incident.occurred_from)} · {incident.address || incident.area || "no address"}</p>
            <p className="clip">{incident.narrative || "No narrative."}</p>
            <input placeholder="Comment for the officer" value={notes[incident.id] || ""}
              onChange={(e) => setNotes((n) => ({ ...n, [incident.id]: e.target.value }))} />
            <div className="row">
              <button className="primary" onClick={() => decide(incident, "approve")}>Approve</button>
              <button onClick={() => decide(incident, "return")}>Return</button>
            </div>
          </div>
        ))}
      </div>
    </section>
  );
}
