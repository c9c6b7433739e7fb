import { useState, type FormEvent } from "react";
import { Link, useLocation, useNavigate } from "react-router-dom";
import { ApiError, request, type Tokens } from "../api";
import { ErrorBox } from "../components/common";
import { useSession } from "../session";

type Step = "password" | "code" | "enrol";

interface Enrolment {
  secret: string;
  provisioning_uri: string;
}

export default function Login() {
  const { signIn } = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const [step, setStep] = useState<Step>("password");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [ticket, setTicket] = useState("");
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const done = async (tokens: Tokens) => {
    await signIn(tokens);
    const next = (location.state as { from?: string } | null)?.from || "/";
    navigate(next, { replace: true });
  };

  const submitPassword = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const form: Record<string, string> = { grant_type: "password", username, password };
      if (step === "code") form.totp = code.trim();
      const { data } = await request<Tokens>("/api/v1/auth/token", { form, auth: false });
      await done(data);
    } catch (err) {
      if (err instanceof ApiError) {
        const type = err.problem.type || "";
        if (type.endsWith("/totp-required") && step === "password") {
          setStep("code");
          setError(null);
          return;
        }
        if (type.endsWith("/totp-enrolment-required")) {
          const enrolmentToken = String(err.problem.enrolment_token || "");
          setTicket(enrolmentToken);
          try {
            const { data } = await request<Enrolment>("/api/v1/auth/totp/enrolment", {
              json: { enrolment_token: enrolmentToken },
              auth: false,
            });
            setEnrolment(data);
            setStep("enrol");
            setError(null);
          } catch (inner) {
            setError(inner);
          }
          return;
        }
      }
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const confirmEnrolment = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { data } = await request<Tokens>("/api/v1/auth/totp/enrolment/confirm", {
        json: { enrolment_token: ticket, code: code.trim() },
        auth: false,
      });
      await done(data);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="auth-page">
      <div className="card auth-card">
        <h1>Sign in</h1>
        {step !== "enrol" ? (
          <form onSubmit={submitPassword}>
            <label>
              Username or e-mail
              <input name="username" autoComplete="username" value={username}
                onChange={(e) => setUsername(e.target.value)} required disabled={step === "code"} />
            </label>
            <label>
              Password
              <input name="password" type="password" autoComplete="current-password" value={password}
                onChange={(e) => setPassword(e.target.value)} required disabled={step === "code"} />
            </label>
            {step === "code" && (
              <label>
                One-time code from your authenticator app
                <input name="totp" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6,8}"
                  value={code} onChange={(e) => setCode(e.target.value)} required autoFocus />
              </label>
            )}
            <ErrorBox error={error} />
            <button type="submit" className="primary" disabled={busy}>
              {busy ? "Signing in…" : step === "code" ? "Verify code" : "Sign in"}
            </button>
          </form>
        ) : (
          <form onSubmit={confirmEnrolment}>
            <p>
              Staff accounts need a second factor. Add this account to an authenticator app
              (Google Authenticator, Aegis, 1Password…) with the key below, then type the
              six-digit code it shows.
            </p>
            <p className="secret" data-testid="totp-secret">{enrolment?.secret}</p>
            <p className="muted small break">{enrolment?.provisioning_uri}</p>
            <label>
              Code from the app
              <input name="totp" inputMode="numeric" autoComplete="one-time-code" value={code}
                onChange={(e) => setCode(e.target.value)} required autoFocus />
            </label>
            <ErrorBox error={error} />
            <button type="submit" className="primary" disabled={busy}>
              {busy ? "Checking…" : "Confirm and sign in"}
            </button>
          </form>
        )}
        <p className="muted">
          Members of the public: <Link to="/register">create an account</Link> to file a complaint,
          or see the <Link to="/public/statistics">public crime statistics</Link>.
        </p>
      </div>
    </div>
  );
}
