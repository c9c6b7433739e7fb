import { useRef, useState, type FormEvent } from "react";
import { Link, useLocation, useNavigate, useParams } from "react-router-dom";
import { get, newKey, request, type Page } from "../api";
import {
  CATEGORIES, ErrorBox, Notice, Progress, Spinner, StatusBadge, formatDate, fromLocalInput,
  label, useLoad,
} from "../components/common";
import { LocationPicker } from "../components/maps";
import { useSession } from "../session";
import { uploadWithProgress } from "./documents";

interface Complaint {
  id: string;
  reference: string;
  description: string;
  category_hint: string | null;
  occurred_from: string;
  location_text: string;
  status: string;
  closing_reason?: string | null;
  crime_id?: string | null;
  created_at: string;
  updated_at: string;
  attachments?: { id: string; filename: string; size: number }[];
}

const STATUS_WORDS: Record<string, string> = {
  received: "We have received your report. An officer will look at it soon.",
  submitted: "We have received your report. An officer will look at it soon.",
  in_review: "An officer is looking at your report.",
  under_review: "An officer is looking at your report.",
  triaged: "Your report has been checked by an officer.",
  accepted: "Your report has been recorded as a crime.",
  converted: "Your report has been recorded as a crime.",
  rejected: "Your report was closed without a crime record.",
  closed: "Your report is closed.",
};

export function MyComplaints() {
  const location = useLocation();
  const filed = (location.state as { filed?: string } | null)?.filed;
  const { data, error, loading } = useLoad(() => get<Page<Complaint>>("/api/v1/records/complaints"), []);
  return (
    <section>
      <div className="page-head">
        <h1>My reports</h1>
        <Link className="button primary" to="/complaints/new">Report a crime</Link>
      </div>
      {filed && <Notice>Thank you. Your report {filed} has been filed.</Notice>}
      <ErrorBox error={error} />
      {loading && <Spinner />}
      {data && data.items.length === 0 && <Notice>You have not filed any report yet.</Notice>}
      <div className="cards">
        {data?.items.map((c) => (
          <Link key={c.id} to={`/complaints/${c.id}`} className="card link-card">
            <h3>{c.reference}</h3>
            <StatusBadge value={c.status} />
            <p className="muted">{formatDate(c.created_at)} · {c.location_text}</p>
            <p className="clip">{c.description}</p>
          </Link>
        ))}
      </div>
    </section>
  );
}

export function ComplaintDetail() {
  const { id } = useParams();
  const { data, error, loading } = useLoad(() => get<Complaint>(`/api/v1/records/complaints/${id}`), [id]);
  if (loading) return <Spinner />;
  if (error) return <ErrorBox error={error} />;
  if (!data) return null;
  return (
    <section>
      <h1>Report {data.reference}</h1>
      <StatusBadge value={data.status} />
      <p className="lead">{STATUS_WORDS[data.status] || label(data.status)}</p>
      {data.crime_id && <p>Crime reference: <strong>{data.crime_id}</strong></p>}
      {data.closing_reason && <p>Reason: {data.closing_reason}</p>}
      <dl className="facts">
        <dt>Filed</dt><dd>{formatDate(data.created_at)}</dd>
        <dt>Last change</dt><dd>{formatDate(data.updated_at)}</dd>
        <dt>When it happened</dt><dd>{formatDate(data.occurred_from)}</dd>
        <dt>Where</dt><dd>{data.location_text}</dd>
        <dt>What happened</dt><dd className="narrative">{data.description}</dd>
        <dt>Attachments</dt>
        <dd>{data.attachments && data.attachments.length ? data.attachments.map((a) => a.filename).join(", ") : "None"}</dd>
      </dl>
      <Link to="/complaints">Back to my reports</Link>
    </section>
  );
}

export function FileComplaint() {
  const navigate = useNavigate();
  const { me } = useSession();
  const [description, setDescription] = useState("");
  const [category, setCategory] = useState("");
  const [when, setWhen] = useState("");
  const [where, setWhere] = useState("");
  const [contact, setContact] = useState(me?.user?.email || "");
  const [lat, setLat] = useState<number | null>(null);
  const [lon, setLon] = useState<number | null>(null);
  const files = useRef<HTMLInputElement>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [key] = useState(newKey());

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { data } = await request<Complaint>("/api/v1/records/complaints", {
        json: {
          description,
          category_hint: category || null,
          occurred_from: fromLocalInput(when),
          location_text: where,
          lat,
          lon,
          contact: contact || null,
        },
        idempotencyKey: key,
      });
      const chosen = Array.from(files.current?.files || []);
      for (let i = 0; i < chosen.length; i++) {
        const form = new FormData();
        form.append("file", chosen[i]);
        setProgress(i / chosen.length);
        await uploadWithProgress(`/api/v1/records/complaints/${data.id}/attachments`, form, (f) =>
          setProgress((i + f) / chosen.length),
        );
      }
      navigate("/complaints", { state: { filed: data.reference } });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
      setProgress(null);
    }
  };

  return (
    <section>
      <h1>Report a crime</h1>
      <p className="muted">
        In an emergency call 911. Use this form for things that have already happened. An officer
        reads every report; you can follow its status here.
      </p>
      <form className="grid-form" onSubmit={submit}>
        <label className="wide">
          What happened?
          <textarea name="description" rows={6} value={description} onChange={(e) => setDescription(e.target.value)}
            required minLength={10} />
        </label>
        <label>
          What kind of crime is it? (if you know)
          <select name="category_hint" value={category} onChange={(e) => setCategory(e.target.value)}>
            <option value="">I am not sure</option>
            {CATEGORIES.map((c) => <option key={c} value={c}>{label(c)}</option>)}
          </select>
        </label>
        <label>
          When did it happen?
          <input name="occurred_from" type="datetime-local" value={when} onChange={(e) => setWhen(e.target.value)} required />
        </label>
        <label className="wide">
          Where? (address or description of the place)
          <input name="location_text" value={where} onChange={(e) => setWhere(e.target.value)} required />
        </label>
        <div className="wide">
          <span className="field-label">You can also point to the place on the map (optional)</span>
          <LocationPicker lat={lat} lon={lon} onPick={(a, b) => { setLat(a); setLon(b); }} />
        </div>
        <label>
          How can we contact you?
          <input name="contact" value={contact} onChange={(e) => setContact(e.target.value)} />
        </label>
        <label>
          Photos or documents (optional)
          <input name="attachments" type="file" multiple ref={files} />
        </label>
        <div className="wide">
          {progress !== null && <Progress fraction={progress} label="Uploading attachments" />}
          <ErrorBox error={error} />
          <button type="submit" className="primary" disabled={busy}>{busy ? "Sending…" : "Send report"}</button>
        </div>
      </form>
    </section>
  );
}

/** Officers: complaints waiting for a decision — make an incident of one, or close it with a reason. */
export function ComplaintTriage() {
  const navigate = useNavigate();
  const { data, error, loading, reload } = useLoad(
    () => get<Page<Complaint & { version: number }>>("/api/v1/records/complaints?status=submitted&limit=100"),
    [],
  );
  const [category, setCategory] = useState<Record<string, string>>({});
  const [reason, setReason] = useState<Record<string, string>>({});
  const [actionError, setActionError] = useState<unknown>(null);
  const decide = async (complaint: Complaint & { version: number }, action: "triage" | "close") => {
    setActionError(null);
    try {
      const fresh = await request<Complaint>(`/api/v1/records/complaints/${complaint.id}`);
      const body = action === "triage"
        ? { category: category[complaint.id] || complaint.category_hint || "other" }
        : { reason: reason[complaint.id] || "" };
      const { data: answer } = await request<{ incident_id?: string }>(
        `/api/v1/records/complaints/${complaint.id}/${action}`,
        { json: body, ifMatch: fresh.etag },
      );
      if (action === "triage" && answer.incident_id) navigate(`/incidents/${answer.incident_id}`);
      else reload();
    } catch (err) {
      setActionError(err);
    }
  };
  return (
    <section>
      <h1>Complaints from the public</h1>
      <ErrorBox error={actionError || error} />
      {loading && <Spinner />}
      {data && data.items.length === 0 && <Notice>No complaint is waiting.</Notice>}
      <div className="cards">
        {data?.items.map((c) => (
          <div key={c.id} className="card">
            <h3>{c.reference}</h3>
            <p className="muted small">{formatDate(c.occurred_from)} · {c.location_text}</p>
            <p className="clip">{c.description}</p>
            <div className="row wrap">
              <select aria-label="Category" value={category[c.id] || c.category_hint || ""}
                onChange={(e) => setCategory((m) => ({ ...m, [c.id]: e.target.value }))}>
                <option value="">Category…</option>
                {CATEGORIES.map((x) => <option key={x} value={x}>{label(x)}</option>)}
              </select>
              <button className="primary" onClick={() => decide(c, "triage")}>Record as incident</button>
            </div>
            <div className="row wrap">
              <input placeholder="Reason the citizen will read" value={reason[c.id] || ""}
                onChange={(e) => setReason((m) => ({ ...m, [c.id]: e.target.value }))} />
              <button onClick={() => decide(c, "close")} disabled={(reason[c.id] || "").trim().length < 3}>Close</button>
            </div>
          </div>
        ))}
      </div>
    </section>
  );
}
