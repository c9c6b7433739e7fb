import { useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { get, newKey, request, type Page } from "../api";
import { ErrorBox, Notice, Spinner, StatusBadge, formatDate, fromLocalInput, toLocalInput, useLoad } from "../components/common";

interface Case {
  id: string;
  case_number: string;
  title: string;
  summary: string | null;
  assigned_officer: string | null;
  status: string;
  incident_ids: string[];
  version: number;
}

interface DiaryEntry {
  id: string;
  entry_at: string;
  text: string;
  author?: string;
  created_by?: string;
}

export function OpenCaseButton({ incidentId, crimeId }: { incidentId: string; crimeId: string }) {
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const open = async () => {
    setError(null);
    try {
      const { data } = await request<Case>("/api/v1/records/cases", {
        json: { title: `Investigation of ${crimeId}`, incident_ids: [incidentId] },
        idempotencyKey: newKey(),
      });
      navigate(`/cases/${data.id}`);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <>
      <button onClick={open}>Open a case</button>
      <ErrorBox error={error} />
    </>
  );
}

export function CaseView() {
  const { id } = useParams();
  const caseAnswer = useLoad(() => request<Case>(`/api/v1/records/cases/${id}`), [id]);
  const diary = useLoad(() => get<Page<DiaryEntry>>(`/api/v1/records/cases/${id}/diary?limit=500`), [id]);
  const [text, setText] = useState("");
  const [at, setAt] = useState(toLocalInput(new Date().toISOString()));
  const [error, setError] = useState<unknown>(null);
  const [status, setStatus] = useState("");
  const add = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      await request(`/api/v1/records/cases/${id}/diary`, {
        json: { entry_at: fromLocalInput(at), text },
        idempotencyKey: newKey(),
      });
      setText("");
      diary.reload();
    } catch (err) {
      setError(err);
    }
  };
  const changeStatus = async () => {
    if (!status || !caseAnswer.data) return;
    setError(null);
    try {
      await request(`/api/v1/records/cases/${id}/status`, { json: { status }, ifMatch: caseAnswer.data.etag });
      caseAnswer.reload();
    } catch (err) {
      setError(err);
    }
  };
  if (caseAnswer.loading && !caseAnswer.data) return <Spinner />;
  if (caseAnswer.error) return <ErrorBox error={caseAnswer.error} />;
  const item = caseAnswer.data?.data;
  if (!item) return null;
  return (
    <section>
      <h1>{item.case_number} · {item.title}</h1>
      <StatusBadge value={item.status} />
      <p>{item.summary}</p>
      <p className="muted">
        Assigned to {item.assigned_officer || "nobody yet"} · incidents:{" "}
        {item.incident_ids.map((incidentId) => (
          <Link key={incidentId} to={`/incidents/${incidentId}`}>{incidentId.slice(0, 8)} </Link>
        ))}
      </p>
      <div className="row wrap">
        <select value={status} onChange={(e) => setStatus(e.target.value)} aria-label="New status">
          <option value="">Change status…</option>
          {["open", "active", "suspended", "closed"].map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
        <button onClick={changeStatus} disabled={!status}>Apply</button>
      </div>
      <div className="card">
        <h2>Case diary</h2>
        <ErrorBox error={diary.error} />
        {diary.data && diary.data.items.length === 0 && <Notice>No entries yet.</Notice>}
        <ol className="diary">
          {diary.data?.items.map((entry) => (
            <li key={entry.id}>
              <div className="muted small">{formatDate(entry.entry_at)} · {entry.author || entry.created_by || ""}</div>
              <div className="narrative">{entry.text}</div>
            </li>
          ))}
        </ol>
        <form onSubmit={add}>
          <label>
            When
            <input type="datetime-local" value={at} onChange={(e) => setAt(e.target.value)} required />
          </label>
          <label>
            Entry
            <textarea rows={3} value={text} onChange={(e) => setText(e.target.value)} required />
          </label>
          <ErrorBox error={error} />
          <button type="submit" className="primary">Add entry</button>
        </form>
      </div>
    </section>
  );
}
