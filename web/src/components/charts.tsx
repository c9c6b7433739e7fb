import {
  BarElement, CategoryScale, Chart as ChartJS, Filler, Legend, LineElement, LinearScale,
  PointElement, Tooltip,
} from "chart.js";
import { Bar, Line } from "react-chartjs-2";

ChartJS.register(CategoryScale, LinearScale, BarElement, LineElement, PointElement, Filler, Tooltip, Legend);

const PALETTE = ["#1d3557", "#e63946", "#457b9d", "#2a9d8f", "#f4a261", "#6d597a", "#8ab17d", "#e76f51"];

export function BarChart({ labels, values, title }: { labels: string[]; values: number[]; title: string }) {
  return (
    <div className="chart" role="img" aria-label={title}>
      <Bar
        data={{ labels, datasets: [{ label: title, data: values, backgroundColor: PALETTE[0] }] }}
        options={{ responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } } }}
      />
    </div>
  );
}

export interface Series {
  label: string;
  values: (number | null)[];
}

export function LineChart({ labels, series, title }: { labels: string[]; series: Series[]; title: string }) {
  return (
    <div className="chart" role="img" aria-label={title}>
      <Line
        data={{
          labels,
          datasets: series.map((s, i) => ({
            label: s.label,
            data: s.values,
            borderColor: PALETTE[i % PALETTE.length],
            backgroundColor: PALETTE[i % PALETTE.length],
            tension: 0.2,
            pointRadius: 2,
          })),
        }}
        options={{ responsive: true, maintainAspectRatio: false, animation: false }}
      />
    </div>
  );
}

/** A forecast with its prediction interval drawn as a shaded band. */
export function IntervalChart({
  labels, history, forecast, lower, upper, title,
}: {
  labels: string[];
  history: (number | null)[];
  forecast: (number | null)[];
  lower: (number | null)[];
  upper: (number | null)[];
  title: string;
}) {
  return (
    <div className="chart" role="img" aria-label={title}>
      <Line
        data={{
          labels,
          datasets: [
            { label: "Recorded", data: history, borderColor: PALETTE[0], backgroundColor: PALETTE[0], pointRadius: 2 },
            { label: "Upper bound", data: upper, borderColor: "rgba(230,57,70,0.2)", backgroundColor: "rgba(230,57,70,0.15)", pointRadius: 0, fill: "+1" },
            { label: "Lower bound", data: lower, borderColor: "rgba(230,57,70,0.2)", backgroundColor: "rgba(230,57,70,0.15)", pointRadius: 0, fill: false },
            { label: "Forecast", data: forecast, borderColor: PALETTE[1], backgroundColor: PALETTE[1], borderDash: [6, 4], pointRadius: 2 },
          ],
        }}
        options={{ responsive: true, maintainAspectRatio: false, animation: false }}
      />
    </div>
  );
}
