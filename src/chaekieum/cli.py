"""`chaekieum` command line: serve, SIP2, database, demo, credentials, benchmarks."""

from __future__ import annotations

import asyncio
import enum
import json
import os
import sys
from datetime import timedelta

import typer
from rich.console import Console
from rich.table import Table

from . import logsafe
from .config import (
    default_database_url,
    identity_providers,
    production,
    secret_key,
    session_idle_minutes,
    writes_on_loop,
)

app = typer.Typer(help="책이음 (Chaekieum) hub: integrated library-card network.",
                  no_args_is_help=True)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
demo_app = typer.Typer(help="The demo network.", no_args_is_help=True)
cred_app = typer.Typer(help="API keys and SIP2 kiosk accounts.", no_args_is_help=True)
res_app = typer.Typer(help="Reservations (예약).", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks (print figures; last line RESULT ...).",
                        no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(cred_app, name="credentials")
app.add_typer(res_app, name="reservations")
oidc_app = typer.Typer(help="Sign-in for homepages and apps (OpenID Connect, docs/oidc.md).",
                       no_args_is_help=True)
app.add_typer(oidc_app, name="oidc")
app.add_typer(bench_app, name="bench")
connector_app = typer.Typer(help="The library connector (책이음 미들웨어), see docs/connector.md.",
                            no_args_is_help=True)
token_app = typer.Typer(help="Local device tokens of the connector.", no_args_is_help=True)
connector_app.add_typer(token_app, name="token")
app.add_typer(connector_app, name="connector")
print_app = typer.Typer(help="Label sheets and member cards as PDF (docs/import.md).",
                        no_args_is_help=True)
app.add_typer(print_app, name="print")
jobs_app = typer.Typer(help="Background jobs (console imports) on huey.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
notices_app = typer.Typer(help="Notices: onboarding e-mails and member notices "
                          "(docs/notices.md).", no_args_is_help=True)
app.add_typer(notices_app, name="notices")
import_app = typer.Typer(help="Bulk import of a joining library's data (docs/import.md).",
                         no_args_is_help=True)
app.add_typer(import_app, name="import")
vendor_app = typer.Typer(help="Vendors (사업자): registry, staff accounts, API keys.",
                         no_args_is_help=True)
app.add_typer(vendor_app, name="vendor")
ConfigOption = typer.Option("connector.toml", "--config", "-c", help="connector.toml")
console = Console()


class LogFormat(enum.StrEnum):
    text = "text"
    json = "json"


DbOption = typer.Option(None, "--database-url", help="SQLAlchemy URL; default: SQLite under ./var")
SmtpOption = typer.Option(None, "--smtp-url", envvar="CHAEKIEUM_SMTP_URL",
                          help="smtp://user:pass@host:587?starttls=1, smtps://host:465 "
                               "(user:pass@ optional), or log: (development); unset: "
                               "e-mails wait")
MailFromOption = typer.Option(None, "--mail-from", envvar="CHAEKIEUM_MAIL_FROM",
                              help="the From address of notice e-mails")
SmsOption = typer.Option(None, "--sms-url", envvar="CHAEKIEUM_SMS_URL",
                         help="nhncloud://APPKEY:SECRET@api-sms.cloud.toast.com?from=NUMBER "
                              "or log: (development); unset: SMS wait")
KakaoOption = typer.Option(None, "--kakao-url", envvar="CHAEKIEUM_KAKAO_URL",
                           help="nhncloud://APPKEY:SECRET@api-alimtalk.cloud.toast.com"
                                "?sender_key=KEY or log: (development); unset: 알림톡 wait")
# national-scale defaults of the benchmark networks
LibrariesOption = typer.Option(2700)
MembersOption = typer.Option(1_000_000)
CopiesOption = typer.Option(40)


def _hub(database_url: str | None, migrate: bool = True,  # noqa: ANN202
         read_database_url: str | None = None):
    from .services.hub import Hub

    hub = Hub(database_url or default_database_url(), secret=secret_key(),
              session_idle=timedelta(minutes=session_idle_minutes()),
              read_database_url=read_database_url,
              identity_providers=identity_providers(), production=production())
    if migrate:
        hub.migrate()
    return hub


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="HTTP bind address"),
    port: int = typer.Option(8000, help="HTTP port (web UI + REST API)"),
    sip2_port: int = typer.Option(6001, "--sip2-port", help="SIP2 port (0 = off)"),
    database_url: str | None = DbOption,
    read_database_url: str | None = typer.Option(
        None, "--read-database-url", envvar="CHAEKIEUM_READ_DATABASE_URL",
        help="a standby for read-only pages (dashboards, statistics, audit viewer); "
             "default: the primary"),
    demo: bool = typer.Option(True, help="Load the demo network into an empty database"),
    log_format: LogFormat = typer.Option(
        LogFormat.text, "--log-format", envvar="CHAEKIEUM_LOG_FORMAT",
        help="log lines as text or as one JSON object each (personal data masked)"),
    metrics_allow: str = typer.Option(
        "127.0.0.1,::1", "--metrics-allow-ips", envvar="CHAEKIEUM_METRICS_ALLOW_IPS",
        help="addresses/networks that may scrape /metrics (Prometheus)"),
    workers: int = typer.Option(1, help="HTTP worker processes (SIP2 needs workers=1)"),
    forwarded_allow: str = typer.Option(
        "", "--forwarded-allow-ips", envvar="CHAEKIEUM_FORWARDED_ALLOW_IPS", show_default="none",
        help="Comma-separated proxy addresses/networks whose X-Forwarded-For/-Proto are "
             "trusted (env CHAEKIEUM_FORWARDED_ALLOW_IPS); default: none"),
    job_worker: bool = typer.Option(True, help="also run the job worker (console imports, "
                                    "notices); off when `chaekieum jobs worker` runs elsewhere"),
    smtp_url: str | None = SmtpOption,
    mail_from: str | None = MailFromOption,
    sms_url: str | None = SmsOption,
    kakao_url: str | None = KakaoOption,
) -> None:
    """Run the hub: web UI, REST API and SIP2 in one service."""
    import uvicorn

    from .services import demo as demo_network

    logsafe.configure(log_format)
    url = database_url or default_database_url()
    hub = _hub(url, read_database_url=read_database_url)
    if demo and not demo_network.is_loaded(hub):
        console.print("[bold]데모 네트워크를 불러오는 중… (loading the demo network)[/bold]")
        demo_network.load(hub)
    _print_welcome(hub, host, port, sip2_port)
    if job_worker:
        os.environ.update(_notice_settings(smtp_url, mail_from, sms_url, kakao_url).export())
        _start_job_worker(url)
    if workers > 1:
        hub.close()
        os.environ.update(CHAEKIEUM_DATABASE_URL=url, CHAEKIEUM_SIP2_PORT="0",
                          CHAEKIEUM_FORWARDED_ALLOW_IPS=forwarded_allow,
                          CHAEKIEUM_LOG_FORMAT=log_format.value,
                          CHAEKIEUM_METRICS_ALLOW_IPS=metrics_allow,
                          CHAEKIEUM_READ_DATABASE_URL=read_database_url or "")
        from .workers import run as run_workers

        raise typer.Exit(run_workers(host, port, workers))
    from .server import UVICORN_OPTIONS, create_app

    uvicorn.run(create_app(hub, sip2_host=host, sip2_port=sip2_port or None,
                           forwarded_allow=forwarded_allow, metrics_allow=metrics_allow,
                           writes_on_loop=writes_on_loop()),
                host=host, port=port, log_level="info", **UVICORN_OPTIONS)


def _start_job_worker(url: str) -> None:
    """`chaekieum jobs worker` beside the server, stopped when the server stops."""
    import atexit
    import subprocess

    proc = subprocess.Popen([sys.executable, "-m", "chaekieum.cli", "jobs", "worker",
                             "--database-url", url, "--parent", str(os.getpid())])

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    atexit.register(stop)


def _print_welcome(hub, host: str, port: int, sip2_port: int) -> None:  # noqa: ANN001
    from .services import demo as demo_network

    base = f"http://{host}:{port}"
    console.print(f"\n[bold green]책이음 허브[/bold green]  웹: {base}/   API 문서: {base}/api/docs"
                  + (f"   SIP2: {host}:{sip2_port}" if sip2_port else ""))
    if not demo_network.is_loaded(hub):
        return
    info = demo_network.info(hub)
    table = Table(title="데모 계정 (demo accounts) — full list: chaekieum demo info --json")
    for col in ("who", "login", "password"):
        table.add_column(col)
    for s in info["staff"][:2]:
        table.add_row(s["role"], s["username"], s["password"])
    lib = info["libraries"][0]
    table.add_row(f"librarian {lib['code']}", lib["librarian"]["username"],
                  lib["librarian"]["password"])
    table.add_row(f"API key {lib['code']}", lib["api_key"], "")
    table.add_row(f"SIP2 kiosk {lib['code']}", lib["kiosk"]["login"], lib["kiosk"]["password"])
    for m in info["members"][:2]:
        table.add_row(f"member {m['name']}", m["number"], m["password"])
    console.print(table)


@app.command()
def sip2(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(6001),
    database_url: str | None = DbOption,
) -> None:
    """Run the SIP2 server on its own."""
    from .sip2.hub_backend import HubBackend
    from .sip2.server import serve_forever

    logsafe.configure()
    asyncio.run(serve_forever(HubBackend(_hub(database_url)), host, port))


@db_app.command("upgrade")
def db_upgrade(database_url: str | None = DbOption, revision: str = "head") -> None:
    """Create or migrate the schema."""
    from .store.migrate import upgrade

    upgrade(database_url or default_database_url(), revision)
    console.print("schema at", revision)


@db_app.command("current")
def db_current(database_url: str | None = DbOption) -> None:
    from .store.migrate import current

    current(database_url or default_database_url())


@demo_app.command("load")
def demo_load(database_url: str | None = DbOption) -> None:
    """Load the demo network (does nothing if libraries exist)."""
    from .services import demo as demo_network

    demo_network.load(_hub(database_url))
    console.print("demo network loaded")


@demo_app.command("info")
def demo_info(database_url: str | None = DbOption,
              as_json: bool = typer.Option(False, "--json")) -> None:
    """Libraries, staff and member accounts with passwords, API keys, loanable copies."""
    from .services import demo as demo_network

    hub = _hub(database_url)
    if not demo_network.is_loaded(hub):
        demo_network.load(hub)
    info = demo_network.info(hub)
    if as_json:
        sys.stdout.write(json.dumps(info, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title="Demo libraries")
    for col in ("code", "name", "status", "librarian / password", "API key", "kiosk / password"):
        table.add_column(col)
    for lib in info["libraries"]:
        table.add_row(lib["code"], lib["name"], lib["status"],
                      f"{lib['librarian']['username']} / {lib['librarian']['password']}",
                      lib["api_key"], f"{lib['kiosk']['login']} / {lib['kiosk']['password']}")
    console.print(table)
    members = Table(title="Demo members (portal login: number + password)")
    for col in ("number", "name", "password", "home library"):
        members.add_column(col)
    for m in info["members"]:
        members.add_row(m["number"], m["name"], m["password"], m["home_library"])
    console.print(members)


@res_app.command("expire")
def reservations_expire(database_url: str | None = DbOption) -> None:
    """Expire set-aside reservations past their pickup deadline; set each copy aside for
    the next in line (run daily from cron; `serve` also sweeps every 10 minutes)."""
    from .services.context import Actor, Role

    out = _hub(database_url).reservations.expire_due(
        Actor(Role.SYSTEM, "system:cli", "cli"))
    console.print_json(json.dumps(out))


@oidc_app.command("rotate-key")
def oidc_rotate_key(retire_older: bool = typer.Option(
        False, help="drop every key but the new and the previous one from the JWKS"),
        database_url: str | None = DbOption) -> None:
    """A new id_token signing key: it signs from now on; the previous keys stay in the JWKS
    (so tokens they signed still verify) until retired with --retire-older."""
    kid = _hub(database_url).oidc.rotate_key(retire_older=retire_older)
    console.print_json(json.dumps({"kid": kid}))


@oidc_app.command("add-client")
def oidc_add_client(name: str, redirect_uri: list[str] = typer.Option(..., "--redirect-uri"),
                    library: str | None = typer.Option(None, help="도서관부호; none: national"),
                    public: bool = typer.Option(False, help="an app: PKCE, no secret"),
                    database_url: str | None = DbOption) -> None:
    """Register a homepage or app (the secret is printed once)."""
    from .services.context import SYSTEM

    out = _hub(database_url).oidc.register_client(SYSTEM, name, library, redirect_uri,
                                                  public=public)
    console.print_json(json.dumps(out))


@cred_app.command("api-key")
def create_api_key(library: str = typer.Argument(..., help="도서관부호"),
                   label: str = "", database_url: str | None = DbOption) -> None:
    """Issue an API key for a library (printed once)."""
    from .services.context import SYSTEM

    out = _hub(database_url).credentials.create_api_key(SYSTEM, "library", library, label)
    console.print_json(json.dumps(out))


@vendor_app.command("add")
def vendor_add(brn: str = typer.Argument(..., help="사업자등록번호, e.g. 220-81-62517"),
               name: str = typer.Argument(...), contact_name: str = "",
               contact_email: str = "", contact_phone: str = "",
               database_url: str | None = DbOption) -> None:
    """Register a vendor (its number is checked by its check digit)."""
    from .services.context import SYSTEM

    out = _hub(database_url).vendors.create(SYSTEM, brn, name, contact_name, contact_email,
                                            contact_phone)
    console.print_json(json.dumps(out, ensure_ascii=False))


@vendor_app.command("staff")
def vendor_staff(brn: str = typer.Argument(..., help="사업자등록번호"),
                 username: str = typer.Argument(...),
                 password: str = typer.Option(..., prompt=True, hide_input=True),
                 display_name: str = "", database_url: str | None = DbOption) -> None:
    """Create a console account for the vendor's staff."""
    from .domain.vendors import brn as parse_brn
    from .services.context import SYSTEM, Role

    out = _hub(database_url).credentials.create_staff(
        SYSTEM, username, password, display_name or username, Role.VENDOR, parse_brn(brn))
    console.print_json(json.dumps(out, ensure_ascii=False))


@vendor_app.command("api-key")
def vendor_api_key(brn: str = typer.Argument(..., help="사업자등록번호"), label: str = "",
                   database_url: str | None = DbOption) -> None:
    """Issue a vendor API key for the onboarding API (printed once)."""
    from .domain.vendors import brn as parse_brn
    from .services.context import SYSTEM

    out = _hub(database_url).credentials.create_api_key(SYSTEM, "vendor", parse_brn(brn),
                                                        label)
    console.print_json(json.dumps(out, ensure_ascii=False))


@cred_app.command("terminal")
def create_terminal(
    library: str = typer.Argument(..., help="도서관부호"),
    login: str = typer.Argument(...),
    password: str = typer.Option(..., prompt=True, hide_input=True),
    label: str = "",
    encoding: str = typer.Option("utf-8", help="utf-8 | euc-kr | cp949 | cp850"),
    terminator: str = typer.Option("CR", help="CR | CRLF"),
    error_detection: bool = typer.Option(True),
    database_url: str | None = DbOption,
) -> None:
    """Create a SIP2 kiosk account bound to one library."""
    from .services.context import SYSTEM

    out = _hub(database_url).credentials.create_terminal(
        SYSTEM, library, login, password, label, encoding, terminator, error_detection)
    console.print_json(json.dumps(out, ensure_ascii=False))


@bench_app.command("checkout")
def bench_checkout(
    database_url: str | None = DbOption,
    libraries: int = LibrariesOption,
    members: int = MembersOption,
    clients: int = typer.Option(32),
    duration: float = typer.Option(30.0, help="seconds of measured load"),
    copies_per_library: int = CopiesOption,
    workers: int = typer.Option(
        2, help="server processes (2 measured best on 2 cores, see docs/benchmarks.md)"),
    reseed: bool = typer.Option(False, "--reseed", help="rebuild the bench network"),
    rate: float | None = typer.Option(
        None, "--rate", min=0.1,
        help="open loop: offer this many transactions/s on a fixed schedule (latency from "
             "the intended send time); default: closed loop"),
    find_slo: float | None = typer.Option(
        None, "--find-slo", min=1,
        help="then search the highest offered rate whose p99 stays under this many ms"),
) -> None:
    """National-scale checkout/checkin load over HTTP, beside pgbench on PostgreSQL."""
    from .bench.checkout import run

    run(database_url, libraries=libraries, members=members, clients=clients,
        duration=duration, copies_per_library=copies_per_library, workers=workers,
        reseed=reseed, rate=rate, find_slo=find_slo)


@bench_app.command("cost")
def bench_cost(
    database_url: str | None = DbOption,
    libraries: int = LibrariesOption,
    members: int = MembersOption,
    copies_per_library: int = CopiesOption,
    transactions: int = typer.Option(4000, help="measured transactions per layer"),
    pgbench: bool = typer.Option(True, help="on PostgreSQL, also run pgbench TPC-B"),
    baseline: str | None = typer.Option(
        None, "--baseline",
        help="also measure this git revision, alternating with this tree, and print the "
             "ratios (the VM's speed drifts: compare within one run)"),
    rounds: int = typer.Option(3, min=1, help="with --baseline: measurements of each side"),
) -> None:
    """CPU per circulation transaction (services, whole HTTP app, database), one at a
    time in-process, and the throughput ceiling it sets on this machine's cores."""
    if baseline:
        from .bench.compare import run as compare

        compare(baseline, ["--libraries", str(libraries), "--members", str(members),
                           "--copies-per-library", str(copies_per_library),
                           "--transactions", str(transactions)],
                database_url=database_url, rounds=rounds)
        return
    from .bench.cost import run

    run(database_url, libraries=libraries, members=members,
        copies_per_library=copies_per_library, transactions=transactions, pgbench=pgbench)


@bench_app.command("sip2")
def bench_sip2(database_url: str | None = typer.Option(
                   None, "--database-url",
                   help="a PostgreSQL cluster URL (the bench uses its own database on it); "
                        "default: a fresh SQLite file under ./var/bench"),
               terminals: int = typer.Option(50),
               duration: float = typer.Option(20.0)) -> None:
    """SIP2 checkout+checkin throughput beside the REST API's, same run."""
    from .bench.seed import is_postgres, pg_database_url, pg_recreate_database
    from .bench.sip2 import run
    from .config import var_dir

    # never the service's own database: the bench adds members, copies and kiosks
    if database_url and is_postgres(database_url):
        pg_recreate_database(database_url, "chaekieum_sip2_bench")
        url = pg_database_url(database_url, "chaekieum_sip2_bench")
    else:
        path = var_dir() / "bench" / "sip2.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        url = database_url or f"sqlite:///{path}"
    run(url, terminals=terminals, duration=duration)


@bench_app.command("waits")
def bench_waits(
    database_url: str = typer.Option(
        ..., "--database-url",
        help="a PostgreSQL cluster URL (the bench uses its own database on it)"),
    rounds: int = typer.Option(3, min=1),
    seconds: float = typer.Option(10.0, min=0.5, help="measured seconds per run"),
) -> None:
    """The hub's checkouts and checkins waiting for PostgreSQL in request threads and on
    the event loop: CPU and context switches per transaction, alternating."""
    from .bench.seed import is_postgres, pg_database_url, pg_recreate_database
    from .bench.waits import run

    if not is_postgres(database_url):
        raise typer.BadParameter("a PostgreSQL URL", param_hint="--database-url")
    pg_recreate_database(database_url, "chaekieum_waits_bench")
    url = pg_database_url(database_url, "chaekieum_waits_bench")
    run(url, rounds=rounds, seconds=seconds)


@bench_app.command("connector")
def bench_connector(
    database_url: str | None = typer.Option(
        None, "--database-url", help="SQLite hub database; default ./var/bench/connector/hub.db"),
    writes: int = typer.Option(2000, help="online writes each way (direct, via connector)"),
    queued: int = typer.Option(10_000, help="writes queued during the outage, then replayed"),
) -> None:
    """Latency the library connector adds per write, and its replay rate after an outage."""
    from .bench.connector import run
    from .config import var_dir

    path = var_dir() / "bench" / "connector" / "hub.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    run(database_url or f"sqlite:///{path}", writes=writes, queued=queued)


@bench_app.command("snapshot")
def bench_snapshot(
    database_url: str | None = DbOption,
    libraries: int = LibrariesOption,
    members: int = MembersOption,
    copies_per_library: int = CopiesOption,
    blocked: float = typer.Option(0.05, help="share of the members blocked network-wide"),
    passes: int = typer.Option(3, help="measured full passes"),
    deltas: int = typer.Option(50, help="measured deltas"),
) -> None:
    """What the library connectors' offline snapshots cost the hub (full pass, delta, and
    the cores for 2,700 connectors at the default intervals)."""
    from .bench.snapshot import run

    run(database_url, libraries=libraries, members=members,
        copies_per_library=copies_per_library, blocked=blocked, passes=passes, deltas=deltas)


@bench_app.command("import")
def bench_import(
    database_url: str | None = typer.Option(
        None, "--database-url", help="PostgreSQL URL; default: SQLite in a temporary folder"),
    records: int = typer.Option(500_000, help="MARC records in the generated file"),
    keep: str | None = typer.Option(None, help="keep the file and database in this folder"),
) -> None:
    """Holdings import of a generated KORMARC file: records/s and peak memory."""
    from .bench.imports import run

    run(database_url, records, keep)


@bench_app.command("web")
def bench_web(database_url: str | None = DbOption, libraries: int = LibrariesOption,
              members: int = MembersOption) -> None:
    """Server time of the main web pages on a national-scale network."""
    from .bench.web import run

    run(database_url or default_database_url(), libraries, members)


# -- library connector ------------------------------------------------------------------
def _connector_config(path: str, build_adapters: bool = True):  # noqa: ANN202
    from .connector.config import ConfigProblems, load

    try:
        return load(path, build_adapters=build_adapters)
    except ConfigProblems as exc:
        for problem in exc.problems:
            typer.echo(f"config error: {problem}", err=True)
        raise typer.Exit(2) from None


@connector_app.command("run")
def connector_run(config: str = ConfigOption) -> None:
    """Run the connector daemon (local API, queue, replay, adapters, snapshot)."""
    from .connector.run import run

    run(_connector_config(config))


@connector_app.command("status")
def connector_status(config: str = ConfigOption,
                     as_json: bool = typer.Option(False, "--json")) -> None:
    """Queue depth, oldest unsent write, last hub contact, snapshot age, open exceptions."""
    import json

    from .connector.daemon import status_of
    from .connector.store import Store

    cfg = _connector_config(config, build_adapters=False)
    store = Store(cfg.db_path)
    try:
        status = status_of(store)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(status, ensure_ascii=False, indent=2))
        return
    typer.echo(f"library            {cfg.library}  (hub {cfg.hub_url})")
    typer.echo(f"queue depth        {status['queue_depth']}")
    typer.echo(f"oldest unsent      {status['oldest_unsent'] or '-'}")
    typer.echo(f"last hub contact   {status['last_hub_contact'] or 'never'}")
    typer.echo(f"snapshot refreshed {status['snapshot_at'] or 'never'}"
               f"  ({status['snapshot_members']} members; full pass "
               f"{status['snapshot_full_at'] or 'never'}, blocked network-wide "
               f"{status['snapshot_all_at'] or 'never'})")
    typer.echo(f"open exceptions    {len(status['open_exceptions'])}")
    for e in status["open_exceptions"]:
        result = e["result"] or {}
        codes = [x.get("code") for x in result.get("exceptions", [])] or [result.get("code")]
        typer.echo(f"  #{e['seq']} {e['kind']} {e['item'] or ''} {e['state']}: "
                   f"{', '.join(str(c) for c in codes)}")


@connector_app.command("resolve")
def connector_resolve(seq: int = typer.Argument(..., help="queue number shown by status"),
                      config: str = ConfigOption) -> None:
    """Mark an exception followed up (it leaves the status list; it stays in the log)."""
    from .connector.store import Store

    store = Store(_connector_config(config, build_adapters=False).db_path)
    try:
        if not store.resolve(seq):
            typer.echo(f"no open exception #{seq}", err=True)
            raise typer.Exit(1)
    finally:
        store.close()
    typer.echo(f"#{seq} resolved")


@token_app.command("add")
def connector_token_add(name: str = typer.Argument(..., help="device name, e.g. desk-1"),
                        config: str = ConfigOption) -> None:
    """Issue a local token for a workstation or device (printed once; stored hashed)."""
    import re
    import secrets

    from .connector.store import Store

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}", name):
        typer.echo("names are letters, digits, - _ . (max 40)", err=True)
        raise typer.Exit(2)
    token = "lt_" + secrets.token_urlsafe(24)
    store = Store(_connector_config(config, build_adapters=False).db_path)
    try:
        store.add_token(name, token)
    finally:
        store.close()
    typer.echo(token)


@token_app.command("remove")
def connector_token_remove(name: str = typer.Argument(...), config: str = ConfigOption) -> None:
    """Revoke a device's local token."""
    from .connector.store import Store

    store = Store(_connector_config(config, build_adapters=False).db_path)
    try:
        removed = store.remove_token(name)
    finally:
        store.close()
    if not removed:
        typer.echo(f"no token named {name}", err=True)
        raise typer.Exit(1)
    typer.echo(f"token {name} removed")


# -- conformance kit (docs/conformance.md) --------------------------------------------
conformance_app = typer.Typer(help="서비스 적합성 검사: test a library's integration "
                              "(docs/conformance.md).", no_args_is_help=True)
app.add_typer(conformance_app, name="conformance")


@conformance_app.command("list")
def conformance_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """Print the catalogue: id, titles, what it proves, failure codes with fix-it text."""
    from dataclasses import asdict

    from .conformance.catalogue import CATALOGUE, GENERIC

    if as_json:
        rows = [{**asdict(s), "needs": sorted(s.needs)} for s in CATALOGUE]
        print(json.dumps({"scenarios": rows, "generic_failures": [asdict(f) for f in GENERIC]},
                         ensure_ascii=False, indent=2))
        return
    for s in CATALOGUE:
        needs = f"  (needs: {', '.join(sorted(s.needs))})" if s.needs else ""
        print(f"{s.id}  [{s.group}] {s.title_ko} / {s.title_en}{needs}")
        print(f"    {s.proves}")
        for f in s.failures:
            print(f"    - {f.code}: {f.fix_ko}")
    print("Every scenario may also end with: " + ", ".join(f.code for f in GENERIC))


@conformance_app.command("run")
def conformance_run(
    target: str = typer.Option(..., "--target", help="the hub's (or a connector's) base URL"),
    library: str = typer.Option(..., "--library", help="도서관부호 (6 digits)"),
    key: str = typer.Option(..., "--key", envvar="CHAEKIEUM_CONFORMANCE_KEY",
                            help="the library's API key"),
    sip2: str | None = typer.Option(None, "--sip2", help="HOST:PORT of the kiosk port"),
    terminal: str | None = typer.Option(None, "--terminal", help="SIP2 terminal login"),
    password: str | None = typer.Option(None, "--password", envvar="CHAEKIEUM_SIP2_PASSWORD",
                                        help="SIP2 terminal password"),
    encoding: str = typer.Option("utf-8", "--encoding",
                                 help="the terminal's configured encoding (utf-8, euc-kr, "
                                 "cp949, cp850)"),
    only: str | None = typer.Option(None, "--only", help="ids or prefixes: REST-03,SIP-*"),
    report: str | None = typer.Option(None, "--report", help="write JSON + HTML here"),
    timeout: float = typer.Option(10.0, "--timeout"),
) -> None:
    """Run the catalogue. Exit status 0 only when every applicable scenario passes (a
    connector's scenarios do not apply to the hub; 1: a failure, 3: nothing failed but
    something was skipped, 2: bad options)."""
    from pathlib import Path

    from .conformance import report as reports
    from .conformance.catalogue import select_ids
    from .conformance.runner import Options, run

    if not (len(library) == 6 and library.isdigit()):
        console.print(f"--library: a 6-digit 도서관부호, got {library!r}")
        raise typer.Exit(2)
    try:
        select_ids(only)
    except ValueError as exc:
        console.print(f"--only: {exc}")
        raise typer.Exit(2) from None
    if encoding.lower() not in ("utf-8", "euc-kr", "cp949", "cp850"):
        console.print(f"--encoding: utf-8, euc-kr, cp949 or cp850, got {encoding!r}")
        raise typer.Exit(2)
    marks = {"pass": "[green]통과[/]", "fail": "[red]실패[/]", "skipped": "[yellow]건너뜀[/]",
             "not_applicable": "[dim]해당 없음[/]"}

    def show(r) -> None:  # noqa: ANN001
        from rich.markup import escape

        code = f" {r.failure_code}" if r.failure_code else ""
        console.print(f"{r.scenario.id:8} {marks[r.status]}{code} {r.scenario.title_ko}"
                      + (f" — {escape(r.reason)}" if r.reason else ""), highlight=False)

    outcome = run(Options(target=target, library=library, key=key, sip2=sip2,
                          terminal=terminal, password=password, encoding=encoding.lower(),
                          only=only, timeout=timeout), progress=show)
    doc = reports.build(outcome)
    s = doc.summary
    console.print(f"{s.result}: {s.passed} passed, {s.failed} failed, {s.skipped} skipped, "
                  f"{s.not_applicable} not applicable; "
                  f"sandbox removed {doc.sandbox.get('removed')}, left "
                  f"{doc.sandbox.get('left')}", markup=False, highlight=False)
    if report:
        json_path, html_path = reports.write(doc, Path(report))
        console.print(f"report: {json_path} {html_path}")
    raise typer.Exit(outcome.exit_code)


@conformance_app.command("schema")
def conformance_schema() -> None:
    """Print the JSON Schema of the report (version chaekieum-conformance/2; version 1
    reports still load)."""
    from .conformance.report import json_schema

    print(json.dumps(json_schema(), ensure_ascii=False, indent=2))


# -- bulk import (docs/import.md) ------------------------------------------------------
LibraryOption = typer.Option(..., "--library", "-l", help="도서관부호 of the importing library")
DryRunOption = typer.Option(False, "--dry-run", help="validate and count; write nothing")
ReportOption = typer.Option(None, "--report", help="validation report CSV "
                            "(default: FILE.report.csv beside the input)")


INTERRUPTED = ("[yellow]중단됨: 같은 명령을 다시 실행하면 이어서 가져옵니다 "
               "(interrupted: run the same command again to resume)[/yellow]")


def _import_progress():  # noqa: ANN202
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                    TextColumn("{task.fields[records]:>9,} records"), TimeRemainingColumn(),
                    console=console, transient=False)


def _print_summary(summary, report) -> None:  # noqa: ANN001
    from .domain.imports import Problem, message

    table = Table(title=("검증만 (dry run): 아무것도 쓰지 않았습니다" if summary.dry_run
                         else f"가져오기 #{summary.batch_id} ({summary.status})"))
    table.add_column("")
    table.add_column("count", justify="right")
    for label, value in (("records read", summary.records), ("created", summary.created),
                         ("updated", summary.updated), ("unchanged", summary.unchanged),
                         ("skipped (problems)", summary.skipped)):
        table.add_row(label, f"{value:,}")
    for code, n in sorted(summary.by_code.items()):
        table.add_row(f"  {code}: {message(Problem(code))}", f"{n:,}")
    console.print(table)
    if summary.resumed_from:
        console.print(f"resumed after record {summary.resumed_from:,}")
    if report is not None:
        console.print(f"validation report: {report} ({summary.report_rows:,} rows)")


def _input_file(file: str):  # noqa: ANN202
    from pathlib import Path

    path = Path(file)
    if not path.is_file():
        console.print(f"[red]no such file: {file}[/red]")
        raise typer.Exit(2)
    return path


def _run_import(path, label: str, run):  # noqa: ANN001, ANN202
    """Run an import under a progress bar over the file's bytes; a refusal exits 1, an
    interruption 130 (the batch resumes on the next run)."""
    from .domain.errors import DomainError

    with _import_progress() as bar:
        task = bar.add_task(label, total=path.stat().st_size, records=0)
        try:
            return run(lambda s: bar.update(task, completed=s.done_bytes, records=s.records))
        except DomainError as exc:
            console.print(f"[red]{exc.code}: {exc.reasons[0].message} {exc.details}[/red]")
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            console.print(INTERRUPTED)
            raise typer.Exit(130) from None


@import_app.command("holdings")
def import_holdings(
    file: str = typer.Argument(..., help="MARC (ISO 2709 or MARCXML) or CSV file"),
    library: str = LibraryOption,
    fmt: str | None = typer.Option(None, "--format", help="iso2709 | marcxml | csv "
                                   "(default: from the file name)"),
    encoding: str = typer.Option("auto", help="auto | utf-8 | euc-kr | cp949 | marc8"),
    not_loanable: str | None = typer.Option(
        None, "--not-loanable", help="별치기호 that are not lent, comma-separated "
        "(default: R,REF,참,참고,P,PER,정,정기)"),
    dry_run: bool = DryRunOption,
    report: str | None = ReportOption,
    database_url: str | None = DbOption,
) -> None:
    """Import holdings (KORMARC / MARC 21 with 049 ▾l, or CSV); resumable, idempotent."""
    from pathlib import Path

    from .domain.actors import Actor, Role
    from .domain.imports import ShelfMarks

    path = _input_file(file)
    report_path = Path(report) if report else path.with_name(path.name + ".report.csv")
    hub = _hub(database_url)
    actor = Actor(Role.SYSTEM, "cli:import", "cli", library)
    marks = ShelfMarks.parse(not_loanable) if not_loanable is not None else None
    summary = _run_import(path, "가져오는 중" if not dry_run else "검증 중", lambda progress:
                          hub.imports.holdings(actor, path, fmt=fmt, encoding=encoding,
                                               shelf_marks=marks, dry_run=dry_run,
                                               report=report_path, progress=progress))
    _print_summary(summary, report_path)


@import_app.command("members")
def import_members(
    file: str = typer.Argument(..., help="member export as CSV (UTF-8 or EUC-KR/CP949)"),
    library: str = LibraryOption,
    column: list[str] = typer.Option(
        [], "--map", help="FIELD=COLUMN for a column not under the usual names, e.g. "
        "--map local_number=대출증번호 (fields: local_number name birth_year birth_date "
        "phone email ci guardian_name guardian_phone member_class)"),
    encoding: str = typer.Option("auto", help="auto | utf-8 | euc-kr | cp949"),
    dry_run: bool = DryRunOption,
    report: str | None = ReportOption,
    mapping_out: str | None = typer.Option(
        None, "--mapping-out", help="old-to-new number mapping CSV "
        "(default: FILE.mapping.csv beside the input)"),
    database_url: str | None = DbOption,
) -> None:
    """Convert a library's members: 14-digit numbers, old numbers kept (mapping file)."""
    from pathlib import Path

    from .domain.actors import Actor, Role

    path = _input_file(file)
    pairs = [c.split("=", 1) for c in column]
    if any(len(p) != 2 for p in pairs):
        console.print("[red]--map takes FIELD=COLUMN[/red]")
        raise typer.Exit(2)
    report_path = Path(report) if report else path.with_name(path.name + ".report.csv")
    hub = _hub(database_url)
    actor = Actor(Role.SYSTEM, "cli:import", "cli", library)
    mapping = {k.strip(): v.strip() for k, v in pairs}
    summary = _run_import(path, "변환 중" if not dry_run else "검증 중", lambda progress:
                          hub.member_imports.run(actor, path, mapping=mapping, encoding=encoding,
                                                 dry_run=dry_run, report=report_path,
                                                 progress=progress))
    _print_summary(summary, report_path)
    if not dry_run:
        out = Path(mapping_out) if mapping_out else path.with_name(path.name + ".mapping.csv")
        with out.open("w", encoding="utf-8-sig", newline="") as fh:
            n = hub.member_imports.mapping_file(summary.batch_id, fh)
        console.print(f"number mapping (old -> new): {out} ({n:,} rows)")


# -- paper (docs/import.md) --------------------------------------------------------------
OutOption = typer.Option(..., "--out", "-o", help="PDF file to write")
LayoutOption = typer.Option("a4-21", "--layout", help="label sheet preset: a4-21 | a4-40")


def _sheet(preset: str, rows: int | None, cols: int | None, label_w: float | None,
           label_h: float | None, margin_top: float | None, margin_left: float | None,
           gap_x: float | None, gap_y: float | None):  # noqa: ANN202
    from .services.printing import layout

    return layout(preset, rows=rows, cols=cols, label_w=label_w, label_h=label_h,
                  margin_top=margin_top, margin_left=margin_left, gap_x=gap_x, gap_y=gap_y)


def _write_pdf(out: str, make) -> None:  # noqa: ANN001
    from pathlib import Path

    from .domain.errors import DomainError

    try:
        data = make()
    except DomainError as exc:
        console.print(f"[red]{exc.code}: {exc.reasons[0].message} {exc.details}[/red]")
        raise typer.Exit(1) from None
    Path(out).write_bytes(data)
    console.print(f"wrote {out}")


@print_app.command("labels")
def print_labels(
    library: str = LibraryOption,
    out: str = OutOption,
    first: str | None = typer.Option(None, "--from", help="first 등록번호 of a range"),
    last: str | None = typer.Option(None, "--to", help="last 등록번호 of the range"),
    batch: int | None = typer.Option(None, "--batch", help="an import batch number"),
    items: str | None = typer.Option(None, "--list", help="file: one 등록번호 or 통합바코드 "
                                     "a line"),
    preset: str = LayoutOption,
    rows: int | None = None, cols: int | None = None,
    label_w: float | None = typer.Option(None, help="mm"),
    label_h: float | None = typer.Option(None, help="mm"),
    margin_top: float | None = typer.Option(None, help="mm"),
    margin_left: float | None = typer.Option(None, help="mm"),
    gap_x: float | None = typer.Option(None, help="mm between columns"),
    gap_y: float | None = typer.Option(None, help="mm between rows"),
    skip: int = typer.Option(0, help="labels already used on the first sheet"),
    database_url: str | None = DbOption,
) -> None:
    """통합바코드 label sheets: by 등록번호 range, import batch, or list."""
    from pathlib import Path

    from .services.printing import label_sheet_pdf

    wanted = ([line.strip() for line in Path(items).read_text(encoding="utf-8-sig")
               .splitlines() if line.strip()] if items else None)

    def make() -> bytes:
        sheet = _sheet(preset, rows, cols, label_w, label_h, margin_top, margin_left,
                       gap_x, gap_y)
        labels = _hub(database_url).printing.item_labels(
            library, first=first, last=last, batch_id=batch, items=wanted)
        return label_sheet_pdf(labels, sheet, skip, "책이음 통합바코드 라벨")
    _write_pdf(out, make)


@print_app.command("institution-labels")
def print_institution_labels(
    library: str = LibraryOption,
    out: str = OutOption,
    count: int = typer.Option(21, help="how many labels"),
    preset: str = LayoutOption,
    skip: int = typer.Option(0, help="labels already used on the first sheet"),
    database_url: str | None = DbOption,
) -> None:
    """기관바코드 (`#` + 도서관부호) label sheets for older books."""
    from .services.printing import label_sheet_pdf, layout

    _write_pdf(out, lambda: label_sheet_pdf(
        _hub(database_url).printing.institution_labels(library, count), layout(preset), skip,
        "책이음 기관바코드 라벨"))


@print_app.command("cards")
def print_cards(
    library: str = LibraryOption,
    out: str = OutOption,
    batch: int | None = typer.Option(None, "--batch", help="a member conversion batch"),
    numbers: str | None = typer.Option(None, "--list", help="file: one member number a line"),
    database_url: str | None = DbOption,
) -> None:
    """Member cards in bulk (ten ID-1 cards per A4 page)."""
    from pathlib import Path

    from .services.printing import member_cards_pdf

    wanted = ([line.strip() for line in Path(numbers).read_text(encoding="utf-8-sig")
               .splitlines() if line.strip()] if numbers else None)
    _write_pdf(out, lambda: member_cards_pdf(_hub(database_url).printing.member_cards(
        library, batch_id=batch, numbers=wanted)))


@jobs_app.command("worker")
def jobs_worker(database_url: str | None = DbOption,
                workers: int = typer.Option(1, help="jobs run at once"),
                parent: int | None = typer.Option(None, hidden=True,
                                                  help="stop when this process is gone"),
                smtp_url: str | None = SmtpOption, mail_from: str | None = MailFromOption,
                sms_url: str | None = SmsOption, kakao_url: str | None = KakaoOption,
                ) -> None:
    """Run the job worker (huey's consumer): console imports run here, and the notices
    (scheduled every 15 minutes, delivered every minute)."""
    import logging
    import signal
    import threading
    import time

    from .jobs import Jobs

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if parent:  # started by `serve`: never outlive it (even when it is killed)
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(2)
            os.kill(os.getpid(), signal.SIGTERM)
        threading.Thread(target=watch, daemon=True).start()
    os.environ.update(_notice_settings(smtp_url, mail_from, sms_url, kakao_url).export())
    Jobs(_hub(database_url)).worker(workers)


def _notice_settings(smtp_url: str | None, mail_from: str | None, sms_url: str | None,
                     kakao_url: str | None):  # noqa: ANN202
    """The notice senders' settings, checked now: a wrong URL stops the command at once
    instead of failing in the worker every minute."""
    from .notify import Settings, close, senders

    settings = Settings.from_env(smtp_url=smtp_url, mail_from=mail_from, sms_url=sms_url,
                                 kakao_url=kakao_url)
    try:
        close(senders(settings))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--smtp-url/--sms-url/--kakao-url"
                                 ) from None
    return settings


@notices_app.command("run")
def notices_run(database_url: str | None = DbOption, smtp_url: str | None = SmtpOption,
                mail_from: str | None = MailFromOption, sms_url: str | None = SmsOption,
                kakao_url: str | None = KakaoOption,
                schedule: bool = typer.Option(True, help="queue the member notices due now"),
                deliver: bool = typer.Option(True, help="send the pending notices")) -> None:
    """Queue the member notices due now and send the outbox once (for a cron job or a
    systemd timer; `jobs worker` does the same periodically). Running it twice, or two
    at once, never sends a notice twice."""
    import logging

    from .notify import close, senders

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logsafe.install()
    hub = _hub(database_url)
    out: dict[str, object] = {}
    if schedule:
        out["schedule"] = hub.notices.schedule()
    if deliver:
        configured = senders(_notice_settings(smtp_url, mail_from, sms_url, kakao_url))
        try:
            out["deliver"] = hub.notices.deliver(configured)
        finally:
            close(configured)
    console.print_json(json.dumps(out))


@notices_app.command("requeue")
def notices_requeue(ids: list[int] = typer.Argument(..., help="outbox row ids"),
                    database_url: str | None = DbOption) -> None:
    """Send failed or uncertain notices again (check first that an uncertain one did not
    arrive: its worker died while sending it)."""
    from .services.context import SYSTEM

    n = _hub(database_url).notices.requeue(SYSTEM, ids)
    console.print_json(json.dumps({"requeued": n}))


@notices_app.command("status")
def notices_status(database_url: str | None = DbOption) -> None:
    """Outbox rows per status and channel (pending, sent, failed, uncertain, ...)."""
    console.print_json(json.dumps(_hub(database_url).notices.status()))


if __name__ == "__main__":
    app()
