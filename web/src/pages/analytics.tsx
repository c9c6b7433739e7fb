import { useEffect, useState } from "react";
import { get, newKey, request } from "../api";
import { IntervalChart } from "../components/charts";
import { CATEGORIES, ErrorBox, Notice, Progress, Spinner, formatDate, label, useLoad } from "../components/common";
import { GeoJsonMap } from "../components/maps";
import { useSession } from "../session";

// The prediction and hotspots APIs this page uses, in one place.
export const ANALYTICS_API = {
  hotspotLayer: (layer: string, params: URLSearchParams) => `/api/v1/hotspots/maps/${layer}?${params}`,
  hotspotForecastSummary: "/api/v1/hotspots/forecasts/latest",
  forecasts: (params: URLSearchParams) => `/api/v1/prediction/forecasts?${params}`,
  models: "/api/v1/prediction/models",
  promote: (id: string) => `/api/v1/prediction/models/${id}/promote`,
  train: "/api/v1/prediction/training-jobs",
  job: (id: string) => `/api/v1/prediction/training-jobs/${id}`,
};

const LAYERS: Record<string, { title: string; valueKey: string; explain: string }> = {
  clusters: { title: "Clusters", valueKey: "count", explain: "Groups of incidents close together in space (density clustering)." },
  gi_star: { title: "Gi* hot cells", valueKey: "z_score", explain: "Grid cells whose counts are significantly higher than their neighbours' (Getis-Ord Gi*)." },
  forecast: { title: "Forecast", valueKey: "score", explain: "Cells expected to have most crime next week, ranked using only earlier data." },
};

export function HotspotsPage() {
  const [layer, setLayer] = useState("gi_star");
  const [category, setCategory] = useState("");
  const [days, setDays] = useState(365);
  const params = new URLSearchParams();
  if (category) params.set("category", category);
  params.set("days", String(days));
  const { data, error, loading } = useLoad(
    () => get<GeoJSON.FeatureCollection & { flagged_area_share?: number; metadata?: Record<string, unknown> }>(
      ANALYTICS_API.hotspotLayer(layer, params),
    ),
    [layer, category, days],
  );
  const meta = (data?.metadata || {}) as Record<string, unknown>;
  const flagged = (data?.flagged_area_share ?? meta.flagged_area_share) as number | undefined;
  return (
    <section>
      <h1>Hotspots</h1>
      <div className="filters">
        <div className="toggle" role="group" aria-label="Layer">
          {Object.entries(LAYERS).map(([key, l]) => (
            <button key={key} className={layer === key ? "active" : ""} onClick={() => setLayer(key)}>{l.title}</button>
          ))}
        </div>
        <label>
          Category
          <select value={category} onChange={(e) => setCategory(e.target.value)}>
            <option value="">All</option>
            {CATEGORIES.map((c) => <option key={c} value={c}>{label(c)}</option>)}
          </select>
        </label>
        <label>
          Data from the last
          <select value={days} onChange={(e) => setDays(Number(e.target.value))}>
            <option value={90}>90 days</option>
            <option value={365}>year</option>
            <option value={1095}>3 years</option>
          </select>
        </label>
      </div>
      <p className="muted">{LAYERS[layer].explain}</p>
      {flagged !== undefined && (
        <Notice>Flagged cells cover {(flagged * 100).toFixed(1)}% of the study area.</Notice>
      )}
      <ErrorBox error={error} />
      {loading && <Spinner label="Computing the map…" />}
      <GeoJsonMap
        data={data || null}
        valueKey={LAYERS[layer].valueKey}
        describe={(p) => Object.entries(p).slice(0, 6).map(([k, v]) => `${label(k)}: ${typeof v === "number" ? v.toFixed(2) : String(v)}`).join("<br>")}
      />
    </section>
  );
}

interface ForecastPoint {
  period?: string;
  date?: string;
  start?: string;
  count?: number;
  value?: number;
  mean?: number;
  forecast?: number;
  lower?: number;
  upper?: number;
}

interface ForecastAnswer {
  history?: ForecastPoint[];
  forecast?: ForecastPoint[];
  series?: ForecastPoint[];
  interval?: number;
  model?: Record<string, unknown>;
  model_version?: string;
}

function when(p: ForecastPoint): string {
  return String(p.period || p.date || p.start || "").slice(0, 10);
}

export function ForecastsPage() {
  const [category, setCategory] = useState("");
  const [horizon, setHorizon] = useState(12);
  const params = new URLSearchParams({ horizon: String(horizon) });
  if (category) params.set("category", category);
  const { data, error, loading } = useLoad(() => get<ForecastAnswer>(ANALYTICS_API.forecasts(params)), [category, horizon]);
  const history = data?.history || [];
  const forecast = data?.forecast || data?.series || [];
  const labels = [...history.map(when), ...forecast.map(when)];
  const pad = (n: number) => Array(n).fill(null);
  return (
    <section>
      <h1>Forecasts</h1>
      <div className="filters">
        <label>
          Category
          <select value={category} onChange={(e) => setCategory(e.target.value)}>
            <option value="">All</option>
            {CATEGORIES.map((c) => <option key={c} value={c}>{label(c)}</option>)}
          </select>
        </label>
        <label>
          Periods ahead
          <select value={horizon} onChange={(e) => setHorizon(Number(e.target.value))}>
            {[4, 8, 12, 26].map((h) => <option key={h} value={h}>{h}</option>)}
          </select>
        </label>
      </div>
      <ErrorBox error={error} />
      {loading && <Spinner label="Forecasting…" />}
      {data && (
        <div className="card">
          <IntervalChart
            title="Recorded counts and forecast with its interval"
            labels={labels}
            history={[...history.map((p) => p.count ?? p.value ?? null), ...pad(forecast.length)]}
            forecast={[...pad(history.length), ...forecast.map((p) => p.mean ?? p.forecast ?? p.value ?? null)]}
            lower={[...pad(history.length), ...forecast.map((p) => p.lower ?? null)]}
            upper={[...pad(history.length), ...forecast.map((p) => p.upper ?? null)]}
          />
          <p className="muted small">
            The shaded band is the {data.interval ? `${Math.round(data.interval * 100)}% ` : ""}prediction
            interval: the count should fall inside it that share of the time.
            {data.model_version ? ` Model ${data.model_version}.` : ""}
          </p>
        </div>
      )}
    </section>
  );
}

interface ModelVersion {
  id: string;
  name?: string;
  kind?: string;
  task?: string;
  version?: number | string;
  status?: string;
  promoted?: boolean;
  created_at?: string;
  metrics?: Record<string, unknown>;
  model_card?: string | Record<string, unknown>;
  card?: string | Record<string, unknown>;
  data_window?: Record<string, unknown> | string;
}

interface Job {
  id: string;
  status: string;
  progress?: number | null;
  message?: string | null;
  error?: string | null;
}

function MetricList({ metrics }: { metrics?: Record<string, unknown> }) {
  if (!metrics) return null;
  const flat = Object.entries(metrics).filter(([, v]) => typeof v === "number" || typeof v === "string");
  return (
    <dl className="metrics">
      {flat.slice(0, 10).map(([k, v]) => (
        <div key={k}>
          <dt>{label(k)}</dt>
          <dd>{typeof v === "number" ? v.toFixed(3) : String(v)}</dd>
        </div>
      ))}
    </dl>
  );
}

export function ModelRegistry() {
  const { has } = useSession();
  const { data, error, loading, reload } = useLoad(
    () => get<{ items: ModelVersion[] } | ModelVersion[]>(ANALYTICS_API.models),
    [],
  );
  const [actionError, setActionError] = useState<unknown>(null);
  const [job, setJob] = useState<Job | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const models = Array.isArray(data) ? data : data?.items || [];

  useEffect(() => {
    if (!job || ["succeeded", "failed", "done", "completed", "error"].includes(job.status)) return;
    const timer = setTimeout(async () => {
      try {
        const next = await get<Job>(ANALYTICS_API.job(job.id));
        setJob(next);
        if (["succeeded", "done", "completed"].includes(next.status)) reload();
      } catch (err) {
        setActionError(err);
        setJob(null);
      }
    }, 1000);
    return () => clearTimeout(timer);
  }, [job, reload]);

  const promote = async (model: ModelVersion) => {
    setActionError(null);
    try {
      await request(ANALYTICS_API.promote(model.id), { method: "POST" });
      reload();
    } catch (err) {
      setActionError(err);
    }
  };
  const train = async () => {
    setActionError(null);
    try {
      const { data: started } = await request<Job>(ANALYTICS_API.train, { json: {}, idempotencyKey: newKey() });
      setJob(started);
    } catch (err) {
      setActionError(err);
    }
  };
  const canTrain = has("admin", "analyst");
  return (
    <section>
      <div className="page-head">
        <h1>Models</h1>
        {canTrain && <button className="primary" onClick={train} disabled={!!job && job.status !== "failed"}>Train new version</button>}
      </div>
      {job && (
        job.status === "failed" || job.status === "error" ? (
          <div className="error" role="alert">Training failed: {job.error || job.message || "see the server log"}.</div>
        ) : ["succeeded", "done", "completed"].includes(job.status) ? (
          <Notice>Training finished. The new version is listed below; promote it to serve it.</Notice>
        ) : (
          <Progress fraction={job.progress ?? null} label={job.message || `Training (${job.status})`} />
        )
      )}
      <ErrorBox error={actionError || error} />
      {loading && <Spinner />}
      {!loading && models.length === 0 && <Notice>No model has been trained yet.</Notice>}
      <div className="cards">
        {models.map((model) => {
          const promoted = model.promoted || model.status === "promoted" || model.status === "serving";
          const card = model.model_card || model.card;
          return (
            <div key={model.id} className="card">
              <h3>
                {model.name || model.kind || model.task || "Model"} {model.version !== undefined ? `v${model.version}` : ""}
                {promoted && <span className="badge badge-approved">Serving</span>}
              </h3>
              <p className="muted small">Trained {formatDate(model.created_at)}</p>
              <MetricList metrics={model.metrics} />
              <div className="row">
                {canTrain && !promoted && <button onClick={() => promote(model)}>Promote</button>}
                {card && <button onClick={() => setOpen(open === model.id ? null : model.id)}>Model card</button>}
              </div>
              {open === model.id && card && (
                <pre className="model-card">{typeof card === "string" ? card : JSON.stringify(card, null, 2)}</pre>
              )}
            </div>
          );
        })}
      </div>
    </section>
  );
}
