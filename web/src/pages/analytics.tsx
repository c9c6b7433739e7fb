import { useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { ApiError, get, newKey, query, request, type Page } from "../api";
import { IntervalChart } from "../components/charts";
import { CATEGORIES, ErrorBox, Notice, Progress, Spinner, formatDate, label, useLoad } from "../components/common";
import { GeoJsonMap } from "../components/maps";
import { useSession } from "../session";

// ---- long-running analysis jobs (hotspots and prediction share the shape) ---------------------

interface Job {
  id: string;
  kind: string;
  status: string; // queued | running | succeeded | failed | cancelled
  progress: number;
  message: string | null;
  error?: string | null;
  result: Record<string, unknown> | null;
}

const FINISHED = ["succeeded", "failed", "cancelled"];

/** Follow a job until it finishes, polling its URL once a second. */
function useJob(jobUrl: (id: string) => string, onDone?: (job: Job) => void) {
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (!job || FINISHED.includes(job.status)) return;
    const timer = setTimeout(async () => {
      try {
        const next = await get<Job>(jobUrl(job.id));
        setJob(next);
        if (FINISHED.includes(next.status) && onDone) onDone(next);
      } catch (err) {
        setError(err);
        setJob(null);
      }
    }, 1000);
    return () => clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [job]);
  return { job, setJob, error, setError };
}

function JobStatus({ job, what }: { job: Job | null; what: string }) {
  if (!job) return null;
  if (job.status === "failed") {
    return <div className="error" role="alert">{what} failed: {job.error || job.message || "see the server log"}.</div>;
  }
  if (job.status === "cancelled") return <Notice>{what} was cancelled.</Notice>;
  if (job.status === "succeeded") return null;
  return <Progress fraction={job.progress || null} label={job.message ? `${what}: ${job.message}` : `${what} (${job.status})`} />;
}

// ---- hotspots --------------------------------------------------------------------------------

const LAYERS: Record<string, { title: string; path: string; valueKey: string; explain: string; body: Record<string, unknown> }> = {
  grid: {
    title: "Gi* hot cells",
    path: "/api/v1/hotspots/maps/grid",
    valueKey: "gi_z",
    explain: "250 m grid cells whose counts are significantly higher than their neighbours' (Getis-Ord Gi*, FDR-corrected).",
    body: { cell_size_m: 250 },
  },
  clusters: {
    title: "Clusters",
    path: "/api/v1/hotspots/clusters",
    valueKey: "count",
    explain: "Groups of incidents close together in space (DBSCAN, 150 m).",
    body: { method: "dbscan" },
  },
  forecast: {
    title: "Next week's forecast",
    path: "/api/v1/hotspots/forecasts",
    valueKey: "risk",
    explain: "Cells expected to have most crime next week, ranked using only earlier data.",
    body: { horizon: "week", area_share: 0.05 },
  },
};

type Collection = GeoJSON.FeatureCollection & Record<string, unknown>;

export function HotspotsPage() {
  const [layer, setLayer] = useState("grid");
  const [category, setCategory] = useState("");
  const [days, setDays] = useState(365);
  const [collection, setCollection] = useState<Collection | null>(null);
  const { job, setJob, error, setError } = useJob(
    (id) => `/api/v1/hotspots/jobs/${id}`,
    (done) => done.status === "succeeded" && setCollection(done.result as unknown as Collection),
  );

  useEffect(() => {
    let live = true;
    const spec = LAYERS[layer];
    const filter: Record<string, unknown> = {
      occurred_from: new Date(Date.now() - days * 86400_000).toISOString(),
    };
    if (category) filter.categories = [category];
    setCollection(null);
    setError(null);
    request<Job>(`${spec.path}?wait=5`, { json: { ...spec.body, filter } })
      .then(({ data }) => {
        if (!live) return;
        setJob(data);
        if (data.status === "succeeded") setCollection(data.result as unknown as Collection);
      })
      .catch((err) => live && setError(err));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [layer, category, days]);

  const spec = LAYERS[layer];
  const share = collection?.area_share as number | undefined;
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
            <option value={3650}>10 years</option>
          </select>
        </label>
      </div>
      <p className="muted">{spec.explain}</p>
      {share !== undefined && (
        <Notice>
          {String(collection?.flagged_cells ?? "")} flagged cells cover {(share * 100).toFixed(1)}% of the study area
          {collection?.flagged_area_km2 !== undefined ? ` (${collection.flagged_area_km2} km²)` : ""}.
        </Notice>
      )}
      <JobStatus job={job} what="Computing the map" />
      <ErrorBox error={error} />
      {collection && collection.features.length === 0 && <Notice>No incidents with a location match these filters.</Notice>}
      <GeoJsonMap
        data={collection}
        valueKey={spec.valueKey}
        describe={(p) =>
          Object.entries(p)
            .filter(([, v]) => typeof v !== "object")
            .slice(0, 7)
            .map(([k, v]) => `${label(k)}: ${typeof v === "number" ? Number(v.toFixed(3)) : String(v)}`)
            .join("<br>")
        }
      />
    </section>
  );
}

// ---- forecasts -------------------------------------------------------------------------------

interface Score {
  mae: number;
  rmse: number;
}

interface ForecastEvaluation {
  first_period: string;
  last_period: string;
  periods_evaluated: number;
  series: number;
  model: Score;
  interval_coverage: number | null;
  baselines: Record<string, Score>;
}

interface ForecastAnswer {
  model: { id: string; kind: string; version: number; algorithm: string };
  freq: string;
  interval_level: number;
  evaluation: ForecastEvaluation | null;
  series: { series: string; points: { period_start: string; forecast: number; lower: number; upper: number }[] }[];
}

interface Counts {
  rows: { bucket?: string; count: number | null }[];
}

export function ForecastsPage() {
  const [freq, setFreq] = useState("week");
  const [dimension, setDimension] = useState<"category" | "area">("category");
  const [picked, setPicked] = useState<Record<string, string>>({ category: "theft" });
  const [horizon, setHorizon] = useState(8);
  // Every series of the dimension comes back at once (the model forecasts them together), so
  // the list of areas is the model's own and switching between them needs no new forecast.
  const { data: forecast, error, loading } = useLoad(
    () => get<ForecastAnswer>(`/api/v1/prediction/forecasts${query({ freq, dimension, horizon })}`),
    [freq, dimension, horizon],
  );
  const { has } = useSession();
  const noModel = error instanceof ApiError && String(error.problem.type || "").endsWith("/no-served-model");
  const names = forecast?.series.map((s) => s.series) || [];
  const name = picked[dimension] && names.includes(picked[dimension]) ? picked[dimension] : names[0];
  const chosen = forecast?.series.find((s) => s.series === name);
  const points = chosen?.points || [];
  const first = points[0]?.period_start;
  const { data: counts } = useLoad(async () => {
    if (!first || !name) return { rows: [] } as Counts;
    const end = new Date(first);
    const start = new Date(end.getTime() - (freq === "week" ? 26 * 7 : 730) * 86400_000);
    return get<Counts>(
      `/api/v1/records/statistics/counts${query({ from: start.toISOString(), to: end.toISOString(), bucket: freq, [dimension]: name, compare: false })}`,
    ).catch(() => ({ rows: [] }) as Counts);
  }, [first, name, freq, dimension]);
  const history = counts?.rows || [];
  const labels = [...history.map((r) => String(r.bucket ?? "").slice(0, 10)), ...points.map((p) => p.period_start.slice(0, 10))];
  const pad = (n: number) => Array(n).fill(null);
  return (
    <section>
      <h1>Forecasts</h1>
      <div className="filters">
        <label>
          Forecast by
          <select value={dimension} onChange={(e) => setDimension(e.target.value as "category" | "area")}>
            <option value="category">Offence</option>
            <option value="area">Area</option>
          </select>
        </label>
        <label>
          {dimension === "category" ? "Offence" : "Area"}
          <select
            value={name || ""}
            onChange={(e) => setPicked({ ...picked, [dimension]: e.target.value })}
            data-testid="forecast-series"
          >
            {names.map((n) => (
              <option key={n} value={n}>{dimension === "category" ? label(n) : n}</option>
            ))}
          </select>
        </label>
        <label>
          Period
          <select value={freq} onChange={(e) => setFreq(e.target.value)}>
            <option value="week">Weeks</option>
            <option value="month">Months</option>
          </select>
        </label>
        <label>
          Periods ahead
          <select value={horizon} onChange={(e) => setHorizon(Number(e.target.value))}>
            {[4, 8, 12, 26].map((h) => <option key={h} value={h}>{h}</option>)}
          </select>
        </label>
      </div>
      {noModel ? (
        <Notice>
          No {freq === "week" ? "weekly" : "monthly"} forecast model is in service yet: a model serves only
          after an analyst or administrator has trained it, read its evaluation and promoted it.{" "}
          {has("admin", "analyst") ? <Link to="/models">Train or promote one on the Models page.</Link> : "Ask an analyst."}
        </Notice>
      ) : (
        <ErrorBox error={error} />
      )}
      {loading && <Spinner label="Forecasting…" />}
      {forecast && chosen && (
        <div className="card">
          <IntervalChart
            title={`Recorded counts and forecast with its interval: ${dimension === "category" ? label(name) : name}`}
            labels={labels}
            history={[...history.map((r) => r.count), ...pad(points.length)]}
            forecast={[...pad(history.length), ...points.map((p) => p.forecast)]}
            lower={[...pad(history.length), ...points.map((p) => p.lower)]}
            upper={[...pad(history.length), ...points.map((p) => p.upper)]}
          />
          <p className="muted small">
            The shaded band is the {Math.round(forecast.interval_level * 100)}% prediction interval:
            the count should fall inside it that share of the time. Model {forecast.model.algorithm} v
            {forecast.model.version}.
          </p>
          <ForecastTrackRecord
            evaluation={forecast.evaluation}
            unit={freq}
            noun={dimension === "category" ? "offences" : "areas"}
          />
        </div>
      )}
    </section>
  );
}

function ForecastTrackRecord({
  evaluation,
  unit,
  noun,
}: {
  evaluation: ForecastEvaluation | null;
  unit: string;
  noun: string;
}) {
  if (!evaluation) return null;
  const fmt = (x: number) => x.toFixed(2);
  const moving = Object.entries(evaluation.baselines).find(([name]) => name.startsWith("moving_average_"));
  const seasonal = evaluation.baselines.seasonal_naive;
  return (
    <p className="small" data-testid="forecast-track-record">
      How far off to expect it: when this model was trained, its one-{unit}-ahead forecasts of{" "}
      {evaluation.periods_evaluated} {unit}s ({evaluation.first_period.slice(0, 10)} to{" "}
      {evaluation.last_period.slice(0, 10)}, all {evaluation.series} {noun}) missed the recorded count by{" "}
      <strong>{fmt(evaluation.model.mae)}</strong> on average
      {moving && (
        <>
          ; the average of the previous {moving[0].replace("moving_average_", "")} {unit}s missed by{" "}
          {fmt(moving[1].mae)}
        </>
      )}
      {seasonal && <>, the same {unit} a year before by {fmt(seasonal.mae)}</>}.
      {evaluation.interval_coverage !== null && (
        <> {Math.round(evaluation.interval_coverage * 100)}% of those counts fell inside its interval.</>
      )}
    </p>
  );
}

// ---- model registry --------------------------------------------------------------------------

interface ModelVersion {
  id: string;
  kind: string;
  version: number;
  algorithm: string;
  class_balanced: boolean;
  served: boolean;
  metrics: Record<string, unknown>;
  model_card: Record<string, unknown>;
  data_window_start: string | null;
  data_window_end: string | null;
  n_rows: number;
  created_at: string;
}

function MetricList({ metrics }: { metrics?: Record<string, unknown> }) {
  if (!metrics) return null;
  const flat = Object.entries(metrics).filter(([, v]) => typeof v === "number");
  return (
    <dl className="metrics">
      {flat.slice(0, 8).map(([k, v]) => (
        <div key={k}>
          <dt>{label(k)}</dt>
          <dd>{Number(v).toFixed(3)}</dd>
        </div>
      ))}
    </dl>
  );
}

export function ModelRegistry() {
  const { has } = useSession();
  const [kind, setKind] = useState("");
  const { data, error, loading, reload } = useLoad(
    () => get<Page<ModelVersion>>(`/api/v1/prediction/models${query({ kind, limit: 100 })}`),
    [kind],
  );
  const [actionError, setActionError] = useState<unknown>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [trainKind, setTrainKind] = useState("forecast_week");
  const { job, setJob, error: jobError } = useJob((id) => `/api/v1/prediction/jobs/${id}`, () => reload());
  const canTrain = has("admin", "analyst");

  const promote = async (model: ModelVersion) => {
    setActionError(null);
    try {
      await request(`/api/v1/prediction/models/${model.id}/promote`, { method: "POST", json: {} });
      reload();
    } catch (err) {
      setActionError(err);
    }
  };
  const train = async () => {
    setActionError(null);
    try {
      const { data: started } = await request<Job>("/api/v1/prediction/jobs", {
        json: { kind: trainKind },
        idempotencyKey: newKey(),
      });
      setJob(started);
    } catch (err) {
      setActionError(err);
    }
  };
  return (
    <section>
      <div className="page-head">
        <h1>Models</h1>
        {canTrain && (
          <div className="row">
            <select value={trainKind} onChange={(e) => setTrainKind(e.target.value)} aria-label="Model kind to train">
              <option value="classifier">Crime-type classifier</option>
              <option value="forecast_week">Weekly count forecast</option>
              <option value="forecast_month">Monthly count forecast</option>
            </select>
            <button className="primary" onClick={train} disabled={!!job && !FINISHED.includes(job.status)}>Train</button>
          </div>
        )}
      </div>
      <JobStatus job={job} what="Training" />
      {job?.status === "succeeded" && <Notice>Training finished. Compare the new version below, then promote it to serve it.</Notice>}
      <div className="filters">
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind(e.target.value)}>
            <option value="">All</option>
            <option value="classifier">Classifier</option>
            <option value="forecast_week">Weekly forecast</option>
            <option value="forecast_month">Monthly forecast</option>
          </select>
        </label>
      </div>
      <ErrorBox error={actionError || error || jobError} />
      {loading && <Spinner />}
      {data && data.items.length === 0 && <Notice>No model has been trained yet.</Notice>}
      <div className="cards">
        {data?.items.map((model) => (
          <div key={model.id} className="card">
            <h3>
              {label(model.kind)} · {model.algorithm}{model.class_balanced ? " (balanced)" : ""} v{model.version}{" "}
              {model.served && <span className="badge badge-approved">Serving</span>}
            </h3>
            <p className="muted small">
              Trained {formatDate(model.created_at)} on {model.n_rows.toLocaleString()} incidents
              {model.data_window_start ? ` from ${model.data_window_start.slice(0, 10)} to ${String(model.data_window_end).slice(0, 10)}` : ""}
            </p>
            <MetricList metrics={model.metrics} />
            <div className="row">
              {canTrain && !model.served && <button onClick={() => promote(model)}>Promote</button>}
              <button onClick={() => setOpen(open === model.id ? null : model.id)}>Model card</button>
            </div>
            {open === model.id && <pre className="model-card">{JSON.stringify(model.model_card, null, 2)}</pre>}
          </div>
        ))}
      </div>
    </section>
  );
}
