import { useState, type FormEvent } from "react";
import { get, request, type Page } from "../api";
import { ErrorBox, Notice, Spinner, formatDate, useLoad } from "../components/common";
import type { User } from "../session";

interface AdminUser extends User {
  disabled: boolean;
  locked: boolean;
  totp_enrolled: boolean;
  last_login_at: string | null;
  version: number;
}

const ROLES = ["admin", "supervisor", "officer", "analyst", "citizen"];

export function Users() {
  const [role, setRole] = useState("");
  const { data, error, loading, reload } = useLoad(
    () => get<Page<AdminUser>>(`/api/v1/auth/users?limit=200${role ? `&role=${role}` : ""}`),
    [role],
  );
  const [actionError, setActionError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);

  const act = async (user: AdminUser, action: string) => {
    setActionError(null);
    try {
      await request(`/api/v1/auth/users/${user.id}/${action}`, { method: "POST" });
      setMessage(`${user.username}: ${action.replace("-", " ")} done.`);
      reload();
    } catch (err) {
      setActionError(err);
    }
  };

  const setRoles = async (user: AdminUser, roles: string[]) => {
    setActionError(null);
    try {
      await request(`/api/v1/auth/users/${user.id}`, {
        method: "PATCH",
        json: { roles },
        ifMatch: `"${user.version}"`,
      });
      setMessage(`${user.username} now has roles: ${roles.join(", ")}.`);
      reload();
    } catch (err) {
      setActionError(err);
    }
  };

  return (
    <section>
      <h1>Users</h1>
      <CreateUser onCreated={(name) => { setMessage(`${name} created.`); reload(); }} />
      <div className="filters">
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value)}>
            <option value="">All</option>
            {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
        </label>
      </div>
      {message && <Notice>{message}</Notice>}
      <ErrorBox error={actionError || error} />
      {loading && <Spinner />}
      <table className="table">
        <thead>
          <tr><th>User</th><th>Roles</th><th className="hide-sm">Station</th><th>State</th><th>Actions</th></tr>
        </thead>
        <tbody>
          {data?.items.map((user) => (
            <tr key={user.id}>
              <td>
                <strong>{user.username}</strong>
                <div className="muted small">{user.display_name} · last sign-in {formatDate(user.last_login_at)}</div>
              </td>
              <td>
                <RolePicker roles={user.roles} onChange={(roles) => setRoles(user, roles)} />
              </td>
              <td className="hide-sm">{user.station_id || "—"}</td>
              <td>
                {user.locked && <span className="badge badge-returned">Locked</span>}{" "}
                {user.disabled && <span className="badge badge-closed">Disabled</span>}{" "}
                {!user.locked && !user.disabled && <span className="badge badge-approved">Active</span>}{" "}
                {user.totp_enrolled ? <span className="muted small">2FA</span> : null}
              </td>
              <td className="row wrap">
                {user.locked && <button onClick={() => act(user, "unlock")}>Unlock</button>}
                {user.disabled ? (
                  <button onClick={() => act(user, "enable")}>Enable</button>
                ) : (
                  <button onClick={() => act(user, "disable")}>Disable</button>
                )}
                {user.totp_enrolled && <button onClick={() => act(user, "reset-totp")}>Reset 2FA</button>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function RolePicker({ roles, onChange }: { roles: string[]; onChange: (roles: string[]) => void }) {
  const [editing, setEditing] = useState(false);
  const [chosen, setChosen] = useState<string[]>(roles);
  if (!editing) {
    return (
      <span>
        {roles.join(", ")} <button className="link" onClick={() => setEditing(true)}>change</button>
      </span>
    );
  }
  return (
    <span className="role-picker">
      {ROLES.map((r) => (
        <label key={r} className="inline">
          <input type="checkbox" checked={chosen.includes(r)}
            onChange={(e) => setChosen(e.target.checked ? [...chosen, r] : chosen.filter((x) => x !== r))} />
          {r}
        </label>
      ))}
      <button onClick={() => { setEditing(false); onChange(chosen); }}>Save</button>
    </span>
  );
}

function CreateUser({ onCreated }: { onCreated: (name: string) => void }) {
  const [open, setOpen] = useState(false);
  const [username, setUsername] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [password, setPassword] = useState("");
  const [station, setStation] = useState("");
  const [roles, setRoles] = useState<string[]>(["officer"]);
  const [error, setError] = useState<unknown>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      await request("/api/v1/auth/users", {
        json: { username, display_name: displayName, password, roles, station_id: station || null },
      });
      onCreated(username);
      setOpen(false);
      setUsername("");
      setPassword("");
    } catch (err) {
      setError(err);
    }
  };
  if (!open) return <button className="primary" onClick={() => setOpen(true)}>New user</button>;
  return (
    <form className="card grid-form" onSubmit={submit}>
      <label>Username<input value={username} onChange={(e) => setUsername(e.target.value)} required /></label>
      <label>Name<input value={displayName} onChange={(e) => setDisplayName(e.target.value)} /></label>
      <label>Initial password<input type="password" value={password} onChange={(e) => setPassword(e.target.value)} required /></label>
      <label>Station<input value={station} onChange={(e) => setStation(e.target.value)} placeholder="ST-1" /></label>
      <div className="wide">
        {ROLES.map((r) => (
          <label key={r} className="inline">
            <input type="checkbox" checked={roles.includes(r)}
              onChange={(e) => setRoles(e.target.checked ? [...roles, r] : roles.filter((x) => x !== r))} />
            {r}
          </label>
        ))}
      </div>
      <div className="wide">
        <ErrorBox error={error} />
        <button type="submit" className="primary">Create</button>{" "}
        <button type="button" onClick={() => setOpen(false)}>Cancel</button>
      </div>
    </form>
  );
}

interface Verification {
  ok: boolean;
  checked: number;
  first_broken_id: number | string | null;
  reason: string | null;
}

const CHAINS: Record<string, string> = {
  "Sign-ins and accounts (auth)": "/api/v1/auth/audit/verify",
  "Crime records (records)": "/api/v1/records/audit/verify",
};

export function AuditVerify() {
  const [results, setResults] = useState<Record<string, Verification | Error>>({});
  const [busy, setBusy] = useState<string | null>(null);
  const verify = async (name: string, path: string) => {
    setBusy(name);
    try {
      const result = await get<Verification>(path);
      setResults((r) => ({ ...r, [name]: result }));
    } catch (err) {
      setResults((r) => ({ ...r, [name]: err as Error }));
    } finally {
      setBusy(null);
    }
  };
  return (
    <section>
      <h1>Audit chain</h1>
      <p className="muted">
        Every write and every read of a confidential record is logged in a hash chain. Verifying
        recomputes every link: any edited or deleted entry breaks it, and the first broken entry is named.
      </p>
      {Object.entries(CHAINS).map(([name, path]) => {
        const result = results[name];
        return (
          <div key={name} className="card">
            <h2>{name}</h2>
            <button className="primary" disabled={busy !== null} onClick={() => verify(name, path)}>
              {busy === name ? "Verifying…" : "Verify chain"}
            </button>
            {result instanceof Error && <ErrorBox error={result} />}
            {result && !(result instanceof Error) && (
              result.ok ? (
                <Notice>Intact: {result.checked} entries checked, no link broken.</Notice>
              ) : (
                <div className="error" role="alert">
                  Broken at entry {String(result.first_broken_id)}: {result.reason}. {result.checked} entries checked.
                </div>
              )
            )}
          </div>
        );
      })}
    </section>
  );
}
