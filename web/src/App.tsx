import { useState, type ReactNode } from "react";
import { Link, NavLink, Navigate, Route, Routes, useLocation } from "react-router-dom";
import { Spinner } from "./components/common";
import { AuditVerify, Users } from "./pages/admin";
import { ForecastsPage, HotspotsPage, ModelRegistry } from "./pages/analytics";
import { CaseView } from "./pages/cases";
import { ComplaintDetail, ComplaintTriage, FileComplaint, MyComplaints } from "./pages/complaints";
import { IncidentDetail, IncidentForm, IncidentList, ReviewQueue } from "./pages/incidents";
import Login from "./pages/Login";
import { PersonSearch } from "./pages/persons";
import Register from "./pages/Register";
import { StatisticsDashboard } from "./pages/statistics";
import { PRIVILEGED, STAFF, WRITERS, useSession } from "./session";

interface NavItem {
  to: string;
  text: string;
  roles: string[] | null; // null: anyone, signed in or not
}

const NAV: NavItem[] = [
  { to: "/incidents", text: "Incidents", roles: [...STAFF] },
  { to: "/persons", text: "Persons", roles: WRITERS },
  { to: "/review", text: "Review queue", roles: PRIVILEGED },
  { to: "/triage", text: "Complaints", roles: WRITERS },
  { to: "/statistics", text: "Statistics", roles: STAFF },
  { to: "/hotspots", text: "Hotspots", roles: STAFF },
  { to: "/forecasts", text: "Forecasts", roles: STAFF },
  { to: "/models", text: "Models", roles: ["admin", "analyst"] },
  { to: "/admin/users", text: "Users", roles: ["admin"] },
  { to: "/admin/audit", text: "Audit", roles: ["admin"] },
  { to: "/complaints", text: "My reports", roles: ["citizen"] },
  { to: "/complaints/new", text: "Report a crime", roles: ["citizen"] },
  { to: "/public/statistics", text: "Public statistics", roles: null },
];

function Guard({ roles, children }: { roles: string[]; children: ReactNode }) {
  const { me, loading, has } = useSession();
  const location = useLocation();
  if (loading) return <Spinner />;
  if (!me) return <Navigate to="/login" state={{ from: location.pathname + location.search }} replace />;
  if (!has(...roles)) {
    return (
      <div className="error" role="alert">
        This page is not available to your role. <Link to="/">Go to your start page</Link>.
      </div>
    );
  }
  return <>{children}</>;
}

function Home() {
  const { me, loading, has } = useSession();
  if (loading) return <Spinner />;
  if (!me) return <Navigate to="/login" replace />;
  if (has("citizen")) return <Navigate to="/complaints" replace />;
  if (has("officer", "supervisor", "admin")) return <Navigate to="/incidents" replace />;
  return <Navigate to="/statistics" replace />;
}

function Shell({ children }: { children: ReactNode }) {
  const { me, signOut, has } = useSession();
  const [menuOpen, setMenuOpen] = useState(false);
  const items = NAV.filter((item) => (item.roles === null ? true : me !== null && has(...item.roles)));
  return (
    <div className="shell">
      <header className="topbar">
        <Link to="/" className="brand">
          <img src="/favicon.svg" alt="" width={24} height={24} /> Stationhouse
        </Link>
        <button className="menu-button" aria-label="Menu" aria-expanded={menuOpen} onClick={() => setMenuOpen(!menuOpen)}>
          ☰
        </button>
        <nav className={menuOpen ? "nav open" : "nav"} onClick={() => setMenuOpen(false)}>
          {items.map((item) => (
            <NavLink key={item.to} to={item.to} end={item.to === "/complaints"}>
              {item.text}
            </NavLink>
          ))}
          {me ? (
            <span className="user">
              <span className="who" title={me.roles.join(", ")}>
                {me.user?.display_name || me.user?.username || me.subject} · {me.roles.join(", ")}
              </span>
              <button className="link" onClick={() => signOut()}>Sign out</button>
            </span>
          ) : (
            <NavLink to="/login">Sign in</NavLink>
          )}
        </nav>
      </header>
      <main className="content">{children}</main>
    </div>
  );
}

export default function App() {
  return (
    <Shell>
      <Routes>
        <Route path="/" element={<Home />} />
        <Route path="/login" element={<Login />} />
        <Route path="/register" element={<Register />} />
        <Route path="/public/statistics" element={<StatisticsDashboard publicView />} />
        <Route path="/incidents" element={<Guard roles={STAFF}><IncidentList /></Guard>} />
        <Route path="/incidents/new" element={<Guard roles={WRITERS}><IncidentForm /></Guard>} />
        <Route path="/incidents/:id" element={<Guard roles={STAFF}><IncidentDetail /></Guard>} />
        <Route path="/incidents/:id/edit" element={<Guard roles={WRITERS}><IncidentForm /></Guard>} />
        <Route path="/persons" element={<Guard roles={WRITERS}><PersonSearch /></Guard>} />
        <Route path="/cases/:id" element={<Guard roles={WRITERS}><CaseView /></Guard>} />
        <Route path="/triage" element={<Guard roles={WRITERS}><ComplaintTriage /></Guard>} />
        <Route path="/review" element={<Guard roles={PRIVILEGED}><ReviewQueue /></Guard>} />
        <Route path="/statistics" element={<Guard roles={STAFF}><StatisticsDashboard /></Guard>} />
        <Route path="/hotspots" element={<Guard roles={STAFF}><HotspotsPage /></Guard>} />
        <Route path="/forecasts" element={<Guard roles={STAFF}><ForecastsPage /></Guard>} />
        <Route path="/models" element={<Guard roles={["admin", "analyst"]}><ModelRegistry /></Guard>} />
        <Route path="/admin/users" element={<Guard roles={["admin"]}><Users /></Guard>} />
        <Route path="/admin/audit" element={<Guard roles={["admin"]}><AuditVerify /></Guard>} />
        <Route path="/complaints" element={<Guard roles={["citizen"]}><MyComplaints /></Guard>} />
        <Route path="/complaints/new" element={<Guard roles={["citizen"]}><FileComplaint /></Guard>} />
        <Route path="/complaints/:id" element={<Guard roles={["citizen"]}><ComplaintDetail /></Guard>} />
        <Route path="*" element={<div className="error" role="alert">There is no page here. <Link to="/">Go to your start page</Link>.</div>} />
      </Routes>
    </Shell>
  );
}
