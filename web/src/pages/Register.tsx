import { useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router-dom";
import { request, type Tokens } from "../api";
import { ErrorBox } from "../components/common";
import { useSession } from "../session";

export default function Register() {
  const { signIn } = useSession();
  const navigate = useNavigate();
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await request("/api/v1/auth/register", {
        json: { email, password, display_name: name },
        auth: false,
      });
      const { data } = await request<Tokens>("/api/v1/auth/token", {
        form: { grant_type: "password", username: email, password },
        auth: false,
      });
      await signIn(data);
      navigate("/complaints/new", { replace: true });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="auth-page">
      <div className="card auth-card">
        <h1>Create a citizen account</h1>
        <p className="muted">
          With an account you can report a crime online, add photos or documents, and follow what
          the police do with your report.
        </p>
        <form onSubmit={submit}>
          <label>
            E-mail
            <input name="email" type="email" autoComplete="email" value={email}
              onChange={(e) => setEmail(e.target.value)} required />
          </label>
          <label>
            Your name
            <input name="display_name" autoComplete="name" value={name}
              onChange={(e) => setName(e.target.value)} />
          </label>
          <label>
            Password (at least 8 characters; a long phrase is best)
            <input name="password" type="password" autoComplete="new-password" minLength={8}
              value={password} onChange={(e) => setPassword(e.target.value)} required />
          </label>
          <ErrorBox error={error} />
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Creating…" : "Create account"}
          </button>
        </form>
        <p className="muted">
          Already registered? <Link to="/login">Sign in</Link>.
        </p>
      </div>
    </div>
  );
}
