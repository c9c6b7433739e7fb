import { useEffect, useState, type ReactNode } from "react";
import { ApiError } from "../api";

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const message =
    error instanceof ApiError ? error.message : error instanceof Error ? error.message : String(error);
  return (
    <div className="error" role="alert">
      {message}
    </div>
  );
}

export function Notice({ children }: { children: ReactNode }) {
  return (
    <div className="notice" role="status">
      {children}
    </div>
  );
}

export function Spinner({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="spinner" role="status" aria-live="polite">
      <span className="spinner-dot" /> {label}
    </div>
  );
}

/** A progress bar for long jobs: determinate when a fraction is known. */
export function Progress({ fraction, label }: { fraction: number | null; label: string }) {
  return (
    <div className="progress" role="progressbar" aria-label={label}
      aria-valuenow={fraction === null ? undefined : Math.round(fraction * 100)}
      aria-valuemin={0} aria-valuemax={100}>
      <div className="progress-label">
        {label}
        {fraction !== null ? ` — ${Math.round(fraction * 100)}%` : ""}
      </div>
      <div className="progress-track">
        <div
          className={fraction === null ? "progress-bar indeterminate" : "progress-bar"}
          style={{ width: fraction === null ? "40%" : `${Math.max(2, fraction * 100)}%` }}
        />
      </div>
    </div>
  );
}

/** Run an async loader and keep its data, error and loading state. */
export function useLoad<T>(loader: () => Promise<T>, deps: unknown[]): {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
  setData: (value: T) => void;
} {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    setError(null);
    loader()
      .then((value) => live && setData(value))
      .catch((err) => live && setError(err))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { data, error, loading, reload: () => setTick((t) => t + 1), setData };
}

export function formatDate(value: string | null | undefined): string {
  if (!value) return "—";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function label(slug: string | null | undefined): string {
  if (!slug) return "—";
  return slug.replace(/_/g, " ").replace(/^\w/, (c) => c.toUpperCase());
}

export const CATEGORIES = [
  "assault", "robbery", "burglary", "theft", "vehicle_theft", "theft_from_vehicle",
  "criminal_damage", "drugs", "weapons", "sexual_offence", "homicide", "fraud",
  "public_order", "other",
];

export function StatusBadge({ value }: { value: string }) {
  return <span className={`badge badge-${value}`}>{label(value)}</span>;
}

/** datetime-local input value <-> ISO 8601 with offset. */
export function toLocalInput(iso: string | null | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function fromLocalInput(value: string): string | null {
  if (!value) return null;
  return new Date(value).toISOString();
}
