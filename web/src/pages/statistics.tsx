import { useMemo, useState } from "react";
import { get } from "../api";
import { BarChart, LineChart } from "../components/charts";
import { CATEGORIES, ErrorBox, Notice, Spinner, label, useLoad } from "../components/common";

interface CountRow {
  count: number | null;
  bucket?: string;
  category?: string;
  area?: string;
  change?: Change | null;
  suppressed?: boolean;
  [key: string]: unknown;
}

interface Change {
  previous: number | null;
  absolute: number | null;
  percent: number | null;
}

interface Counts {
  from: string;
  to: string;
  total?: number | null;
  total_shown?: number | null;
  min_cell?: number;
  rows: CountRow[];
  change?: Change | null;
}

function totalOf(counts: Counts): number | null {
  return counts.total ?? counts.total_shown ?? null;
}

const PRESETS: Record<string, number> = { "30 days": 30, "90 days": 90, "1 year": 365, "5 years": 1826 };

function frameParams(days: number, from: string, to: string): URLSearchParams {
  const params = new URLSearchParams();
  if (from && to) {
    params.set("from", new Date(from).toISOString());
    params.set("to", new Date(to).toISOString());
  } else {
    const end = new Date();
    params.set("to", end.toISOString());
    params.set("from", new Date(end.getTime() - days * 86400_000).toISOString());
  }
  return params;
}

function bucketFor(days: number): string {
  if (days <= 31) return "day";
  if (days <= 120) return "week";
  return "month";
}

function changeText(change: Change | null | undefined): string {
  if (!change) return "";
  if (change.percent === null || change.percent === undefined) {
    if (change.absolute === null || change.absolute === undefined) return "";
    return change.previous === 0 ? "none in the previous period" : `${change.absolute > 0 ? "+" : ""}${change.absolute} vs previous period`;
  }
  const pct = Math.round(change.percent);
  return pct === 0 ? "no change vs previous period" : `${pct > 0 ? "+" : ""}${pct}% vs previous period`;
}

function Controls({
  days, setDays, from, setFrom, to, setTo, category, setCategory,
}: {
  days: number; setDays: (d: number) => void; from: string; setFrom: (v: string) => void;
  to: string; setTo: (v: string) => void; category: string; setCategory: (v: string) => void;
}) {
  return (
    <div className="filters">
      <label>
        Time frame
        <select value={from && to ? "custom" : String(days)}
          onChange={(e) => { if (e.target.value !== "custom") { setFrom(""); setTo(""); setDays(Number(e.target.value)); } }}>
          {Object.entries(PRESETS).map(([name, d]) => <option key={name} value={d}>Last {name}</option>)}
          <option value="custom">Custom…</option>
        </select>
      </label>
      <label>
        From
        <input type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
      </label>
      <label>
        To
        <input type="date" value={to} onChange={(e) => setTo(e.target.value)} />
      </label>
      <label>
        Category
        <select value={category} onChange={(e) => setCategory(e.target.value)}>
          <option value="">All categories</option>
          {CATEGORIES.map((c) => <option key={c} value={c}>{label(c)}</option>)}
        </select>
      </label>
    </div>
  );
}

export function StatisticsDashboard({ publicView = false }: { publicView?: boolean }) {
  const [days, setDays] = useState(publicView ? 365 : 90);
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [category, setCategory] = useState("");
  const base = publicView ? "/api/v1/records/statistics/public" : "/api/v1/records/statistics";
  const span = from && to ? (new Date(to).getTime() - new Date(from).getTime()) / 86400_000 : days;
  const key = `${days}|${from}|${to}|${category}|${publicView}`;

  const { data, error, loading } = useLoad(async () => {
    const common = frameParams(days, from, to);
    if (category) common.append("category", category);
    const timeline = new URLSearchParams(common);
    timeline.set("bucket", bucketFor(span));
    const byCategory = new URLSearchParams(common);
    byCategory.append("group_by", "category");
    const byArea = new URLSearchParams(common);
    byArea.append("group_by", "area");
    const [series, categories, areas] = await Promise.all([
      get<Counts>(`${base}/counts?${timeline}`),
      get<Counts>(`${base}/counts?${byCategory}`),
      get<Counts>(`${base}/counts?${byArea}`),
    ]);
    return { series, categories, areas };
  }, [key]);

  const topAreas = useMemo(
    () => (data?.areas.rows || []).filter((r) => r.count !== null && r.area !== null).sort((a, b) => Number(b.count) - Number(a.count)).slice(0, 10),
    [data],
  );

  return (
    <section>
      <h1>{publicView ? "Crime in your area" : "Statistics"}</h1>
      {publicView && (
        <p className="muted">
          Recorded incidents by offence and neighbourhood. Small numbers are withheld to protect the
          people involved.
        </p>
      )}
      <Controls days={days} setDays={setDays} from={from} setFrom={setFrom} to={to} setTo={setTo}
        category={category} setCategory={setCategory} />
      <ErrorBox error={error} />
      {loading && <Spinner label="Counting incidents…" />}
      {data && (
        <>
          <div className="kpis">
            <div className="kpi">
              <div className="kpi-value" data-testid="total">
                {totalOf(data.series) ?? (publicView ? `< ${data.series.min_cell ?? ""}` : "—")}
              </div>
              <div className="kpi-label">
                incidents{changeText(data.series.change) ? ` · ${changeText(data.series.change)}` : ""}
              </div>
            </div>
          </div>
          {totalOf(data.series) === 0 && <Notice>No incidents were recorded in this time frame.</Notice>}
          <div className="chart-grid">
            <div className="card">
              <h2>Over time</h2>
              <LineChart
                title="Incidents over time"
                labels={data.series.rows.map((r) => String(r.bucket ?? "").slice(0, 10))}
                series={[{ label: "Incidents", values: data.series.rows.map((r) => r.count) }]}
              />
            </div>
            <div className="card">
              <h2>By offence</h2>
              <BarChart
                title="Incidents by offence"
                labels={data.categories.rows.map((r) => label(String(r.category)))}
                values={data.categories.rows.map((r) => Number(r.count ?? 0))}
              />
            </div>
          </div>
          {publicView && data.series.min_cell && (
            <p className="muted small">Counts below {data.series.min_cell} are not shown.</p>
          )}
          <div className="card">
            <h2>Areas with most incidents</h2>
            <table className="table">
              <thead>
                <tr><th>Area</th><th>Incidents</th><th>Change</th></tr>
              </thead>
              <tbody>
                {topAreas.map((row) => (
                  <tr key={String(row.area)}>
                    <td>{String(row.area ?? "Unknown")}</td>
                    <td>{row.count}</td>
                    <td>{changeText(row.change)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
