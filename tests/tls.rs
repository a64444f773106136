//! `sslmode` in the database URL, against a private server that only accepts
//! TLS over TCP: the `tenantscope` binary connects as libpq 15 does (through
//! OpenSSL), verifies the server certificate when asked to or when a root
//! certificate file exists, and fails in one line when it cannot.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sqlx::{Connection, PgConnection};
use tenantscope::embedded::{PgServer, ServerOptions, SUPERUSER};

/// Local connections (the test's own setup) are trusted; over TCP only TLS
/// gets in, so any TCP connection that succeeds was encrypted.
const HBA: &str = "\
local all all trust
hostssl all all 127.0.0.1/32 trust
hostnossl all all 127.0.0.1/32 reject
";

/// Runs `openssl` with `args` in `dir`; panics with its stderr on failure.
fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (the openssl command-line tool must be installed)");
    assert!(
        output.status.success(),
        "openssl {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A self-signed CA certificate `<name>.crt` with its key `<name>.key`.
fn make_ca(dir: &Path, name: &str) -> PathBuf {
    let key = format!("{name}.key");
    let crt = format!("{name}.crt");
    let subject = format!("/CN=tenantscope test {name}");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &crt,
            "-days",
            "2",
            "-subj",
            &subject,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    dir.join(crt)
}

/// A server certificate for the names in `san` (e.g.
/// `DNS:localhost,IP:127.0.0.1`) signed by the CA `ca`; returns the
/// certificate and key as PEM.
fn make_server_cert(dir: &Path, ca: &str, san: &str) -> (String, String) {
    std::fs::write(
        dir.join("server.ext"),
        format!(
            "basicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth\n\
             subjectAltName={san}\n\
             subjectKeyIdentifier=hash\n\
             authorityKeyIdentifier=keyid,issuer\n"
        ),
    )
    .unwrap();
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    let ca_crt = format!("{ca}.crt");
    let ca_key = format!("{ca}.key");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            &ca_crt,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.crt",
        ],
    );
    (
        std::fs::read_to_string(dir.join("server.crt")).unwrap(),
        std::fs::read_to_string(dir.join("server.key")).unwrap(),
    )
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().unwrap().port()
}

fn server_log(server: &PgServer) -> String {
    std::fs::read_to_string(server.socket_dir().join("postgres.log"))
        .unwrap_or_else(|e| format!("(no server log: {e})"))
}

/// Runs `tenantscope --database-url URL tenants --format json` as a user would,
/// with nothing but the URL configuring it.
fn tenants(url: &str, cwd: &Path) -> Output {
    tenants_with(url, cwd, &[])
}

/// The same, with `HOME` the certificates' directory (so `~/.postgresql/`
/// is the test's) and these variables.
fn tenants_with(url: &str, cwd: &Path, vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenantscope"));
    command.env("HOME", cwd);
    command
        .args(["--database-url", url, "tenants", "--format", "json"])
        .env_remove("DATABASE_URL")
        .env_remove("PGHOST")
        .env_remove("PGDATABASE")
        // sqlx also reads these; the URL alone must decide.
        .env_remove("PGSSLMODE")
        .env_remove("PGSSLROOTCERT")
        .env_remove("PGSSLCERT")
        .env_remove("PGSSLKEY")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        // No ./tenantscope.toml from the checkout.
        .current_dir(cwd)
        .envs(vars.iter().copied())
        .output()
        .expect("run tenantscope")
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// CAs "ca" and "other-ca" made in `dir`, and a TLS server whose
/// certificate "ca" signed for `san`: (server, port, ca's file, other-ca's).
async fn server_of_two_cas(dir: &Path, san: &str) -> (PgServer, u16, PathBuf, PathBuf) {
    let right = make_ca(dir, "ca");
    let other = make_ca(dir, "other-ca");
    let (cert_pem, key_pem) = make_server_cert(dir, "ca", san);
    let (server, port) = tls_server(cert_pem, key_pem).await;
    (server, port, right, other)
}

/// A private server that accepts TCP only with TLS, using this certificate,
/// with the shared users table `tenants` needs; and its port.
async fn tls_server(cert_pem: String, key_pem: String) -> (PgServer, u16) {
    tls_server_with(cert_pem, key_pem, HBA).await
}

/// [`tls_server`] with these pg_hba.conf rules.
async fn tls_server_with(cert_pem: String, key_pem: String, hba: &str) -> (PgServer, u16) {
    let port = free_port();
    let server = PgServer::start_with(ServerOptions {
        tcp_port: Some(port),
        settings: vec![
            ("ssl".into(), "on".into()),
            ("ssl_cert_file".into(), "server.crt".into()),
            ("ssl_key_file".into(), "server.key".into()),
        ],
        files: vec![
            ("server.crt".into(), cert_pem),
            ("server.key".into(), key_pem),
            // Replaces the one initdb wrote.
            ("pg_hba.conf".into(), hba.into()),
        ],
    })
    // On a failed start the server's directory is already gone; the error
    // carries the last line of its log.
    .unwrap_or_else(|e| panic!("cannot start a TLS PostgreSQL server on port {port}: {e}"));

    // `tenants` needs the shared users table; create it over the socket.
    let mut admin = PgConnection::connect_with(&server.connect_options("postgres"))
        .await
        .unwrap_or_else(|e| panic!("connect over the socket: {e}\n{}", server_log(&server)));
    sqlx::raw_sql(
        "CREATE TABLE public.users (id text primary key, creation_timestamp timestamptz default now(), \
         name text, mail text, password text, organization_id text)",
    )
    .execute(&mut admin)
    .await
    .unwrap();
    admin.close().await.ok();

    (server, port)
}

#[tokio::test]
async fn sslmode_in_the_url_is_honoured() {
    let certs = tempfile::tempdir().unwrap();
    let dir = certs.path();
    let (server, port, right_ca, other_ca) =
        server_of_two_cas(dir, "DNS:localhost,IP:127.0.0.1").await;

    let base = format!("postgres://{SUPERUSER}@localhost:{port}/postgres");
    let right = right_ca.display();
    let other = other_ca.display();

    // Accepted cases: TLS without verification, and with the right CA;
    // `prefer` takes TLS when offered (this server refuses TCP without it).
    for query in [
        "sslmode=prefer".to_string(),
        "sslmode=require".to_string(),
        format!("sslmode=verify-ca&sslrootcert={right}"),
        format!("sslmode=verify-full&sslrootcert={right}"),
    ] {
        let out = tenants(&format!("{base}?{query}"), dir);
        assert!(
            out.status.success(),
            "{query} should connect\n{}\nserver log:\n{}",
            describe(&out),
            server_log(&server)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{query}: stdout is not JSON ({e})\n{}", describe(&out)));
        assert!(json.is_array(), "{query}: {json}");
    }

    // Refused cases: a certificate from a CA we do not trust, and no TLS at all.
    for (query, why) in [
        (
            format!("sslmode=verify-full&sslrootcert={other}"),
            "the server certificate is not signed by that CA",
        ),
        (
            "sslmode=disable".to_string(),
            "the server rejects TCP without TLS",
        ),
    ] {
        let out = tenants(&format!("{base}?{query}"), dir);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{query} should fail ({why})\n{}",
            describe(&out)
        );
        let stderr = String::from_utf8(out.stderr.clone()).unwrap();
        assert!(
            stderr.starts_with("tenantscope: cannot connect to"),
            "{query}: {}",
            describe(&out)
        );
        assert_eq!(
            stderr.trim_end_matches('\n').lines().count(),
            1,
            "{query}: the error should be one line\n{}",
            describe(&out)
        );
        assert!(out.stdout.is_empty(), "{query}: {}", describe(&out));
    }

    drop(server);
}

/// verify-ca checks the chain only; verify-full also checks that the
/// certificate names the host: a certificate for another name passes the
/// first and fails the second.
#[tokio::test]
async fn verify_full_checks_the_host_name_and_verify_ca_does_not() {
    let certs = tempfile::tempdir().unwrap();
    let dir = certs.path();
    let ca = make_ca(dir, "ca");
    let (cert_pem, key_pem) = make_server_cert(dir, "ca", "DNS:db.example.com");
    let (server, port) = tls_server(cert_pem, key_pem).await;
    let base = format!("postgres://{SUPERUSER}@localhost:{port}/postgres");
    let ca = ca.display();

    let out = tenants(&format!("{base}?sslmode=verify-ca&sslrootcert={ca}"), dir);
    assert!(
        out.status.success(),
        "verify-ca trusts the chain whatever the name\n{}\nserver log:\n{}",
        describe(&out),
        server_log(&server)
    );

    let out = tenants(&format!("{base}?sslmode=verify-full&sslrootcert={ca}"), dir);
    assert_eq!(
        out.status.code(),
        Some(1),
        "verify-full must refuse a certificate for db.example.com\n{}",
        describe(&out)
    );
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    assert!(
        stderr.starts_with("tenantscope: cannot connect to") && stderr.lines().count() == 1,
        "{}",
        describe(&out)
    );
    drop(server);
}

/// A self-signed X.509 version 1 certificate for localhost (no extensions:
/// what a Citus coordinator makes for itself), as PEM with its key.
fn make_v1_cert(dir: &Path) -> (String, String) {
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "v1.key",
            "-out",
            "v1.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    openssl(
        dir,
        &[
            "x509", "-req", "-in", "v1.csr", "-signkey", "v1.key", "-days", "2", "-out", "v1.crt",
        ],
    );
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in", "v1.crt"])
        .current_dir(dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("Version: 1 "),
        "not a v1 certificate:\n{text}"
    );
    (
        std::fs::read_to_string(dir.join("v1.crt")).unwrap(),
        std::fs::read_to_string(dir.join("v1.key")).unwrap(),
    )
}

fn assert_connects(out: &Output, what: &str, server: &PgServer) {
    assert!(
        out.status.success(),
        "{what} should connect\n{}\nserver log:\n{}",
        describe(out),
        server_log(server)
    );
}

fn assert_refused(out: &Output, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(1),
        "{what} should fail\n{}",
        describe(out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("tenantscope: ") && stderr.trim_end().lines().count() == 1,
        "{what}: one line\n{}",
        describe(out)
    );
}

/// libpq verifies nothing in prefer/require without a root certificate:
/// a self-signed version 1 certificate (a Citus coordinator's) connects
/// with the default settings and with require; given as the root, it also
/// passes verify-ca.
#[tokio::test]
async fn a_self_signed_version_1_certificate_connects_where_libpq_connects() {
    let certs = tempfile::tempdir().unwrap();
    let dir = certs.path();
    let (cert_pem, key_pem) = make_v1_cert(dir);
    let (server, port) = tls_server(cert_pem, key_pem).await;
    let base = format!("postgres://{SUPERUSER}@localhost:{port}/postgres");
    for query in ["", "?sslmode=require", "?sslmode=prefer"] {
        let out = tenants(&format!("{base}{query}"), dir);
        assert_connects(&out, &format!("v1 certificate, {query:?}"), &server);
    }
    let v1 = dir.join("v1.crt");
    let out = tenants(
        &format!("{base}?sslmode=verify-ca&sslrootcert={}", v1.display()),
        dir,
    );
    assert_connects(&out, "v1 certificate as its own root, verify-ca", &server);
    drop(server);
}

/// A root certificate file makes require verify the chain (libpq: require
/// then acts as verify-ca), whether named by sslrootcert, PGSSLROOTCERT or
/// found as ~/.postgresql/root.crt; verify-full reads ~/.postgresql/root.crt
/// too; and verify-full checks the certificate against host, not hostaddr.
#[tokio::test]
async fn a_root_certificate_file_makes_require_verify_as_libpq() {
    let certs = tempfile::tempdir().unwrap();
    let dir = certs.path();
    let (server, port, right, other) = server_of_two_cas(dir, "DNS:localhost").await;
    let base = format!("postgres://{SUPERUSER}@localhost:{port}/postgres");
    let (right, other) = (right.display().to_string(), other.display().to_string());

    let out = tenants(&format!("{base}?sslmode=require&sslrootcert={other}"), dir);
    assert_refused(&out, "require with another CA as sslrootcert");
    let out = tenants_with(
        &format!("{base}?sslmode=require"),
        dir,
        &[("PGSSLROOTCERT", &other)],
    );
    assert_refused(&out, "require with another CA as PGSSLROOTCERT");
    let out = tenants(&format!("{base}?sslmode=require&sslrootcert={right}"), dir);
    assert_connects(&out, "require with the right CA", &server);

    let home_certs = dir.join(".postgresql");
    std::fs::create_dir(&home_certs).unwrap();
    std::fs::copy(&other, home_certs.join("root.crt")).unwrap();
    assert_refused(
        &tenants(&format!("{base}?sslmode=require"), dir),
        "require with another CA in ~/.postgresql/root.crt",
    );
    assert_refused(
        &tenants(&base, dir),
        "the default (prefer) with another CA in ~/.postgresql/root.crt (this server has no plain TCP)",
    );
    std::fs::copy(&right, home_certs.join("root.crt")).unwrap();
    let out = tenants(&format!("{base}?sslmode=verify-full"), dir);
    assert_connects(&out, "verify-full with ~/.postgresql/root.crt", &server);
    let out = tenants(
        &format!("{base}?sslmode=verify-full&hostaddr=127.0.0.1"),
        dir,
    );
    assert_connects(
        &out,
        "verify-full host=localhost hostaddr=127.0.0.1 (the certificate names localhost only)",
        &server,
    );
    assert_refused(
        &tenants(
            &format!("postgres://{SUPERUSER}@db.example.com:{port}/postgres?sslmode=verify-full&hostaddr=127.0.0.1"),
            dir,
        ),
        "verify-full host=db.example.com hostaddr=127.0.0.1 (the certificate names localhost)",
    );
    drop(server);
}

/// Client certificates: a server that lets in over TCP only a certificate
/// signed by its CA whose CN is the user (`cert` authentication). The key
/// is in SEC1 form (`BEGIN EC PRIVATE KEY`), which libpq reads and
/// native-tls does not take as it is.
#[tokio::test]
async fn client_certificates_from_sslcert_pgsslcert_and_home() {
    let certs = tempfile::tempdir().unwrap();
    let dir = certs.path();
    let ca = make_ca(dir, "ca");
    let (cert_pem, key_pem) = make_server_cert(dir, "ca", "DNS:localhost");
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "client.p8",
            "-out",
            "client.csr",
            "-subj",
            &format!("/CN={SUPERUSER}"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "client.crt",
        ],
    );
    openssl(dir, &["ec", "-in", "client.p8", "-out", "client.key"]);
    let key = std::fs::read_to_string(dir.join("client.key")).unwrap();
    assert!(key.contains("BEGIN EC PRIVATE KEY"), "{key}");
    std::fs::set_permissions(
        dir.join("client.key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();

    let port = free_port();
    let server = PgServer::start_with(ServerOptions {
        tcp_port: Some(port),
        settings: vec![
            ("ssl".into(), "on".into()),
            ("ssl_cert_file".into(), "server.crt".into()),
            ("ssl_key_file".into(), "server.key".into()),
            ("ssl_ca_file".into(), "ca.crt".into()),
        ],
        files: vec![
            ("server.crt".into(), cert_pem),
            ("server.key".into(), key_pem),
            ("ca.crt".into(), std::fs::read_to_string(&ca).unwrap()),
            (
                "pg_hba.conf".into(),
                "local all all trust\nhostssl all all 127.0.0.1/32 cert\n".into(),
            ),
        ],
    })
    .unwrap_or_else(|e| panic!("cannot start a TLS server: {e}"));
    let mut admin = PgConnection::connect_with(&server.connect_options("postgres"))
        .await
        .unwrap();
    sqlx::raw_sql(
        "CREATE TABLE public.users (id text primary key, creation_timestamp timestamptz default now(), \
         name text, mail text, password text, organization_id text)",
    )
    .execute(&mut admin)
    .await
    .unwrap();
    admin.close().await.ok();

    let base = format!("postgres://{SUPERUSER}@localhost:{port}/postgres?sslmode=require");
    let (crt, key) = (
        dir.join("client.crt").display().to_string(),
        dir.join("client.key").display().to_string(),
    );
    assert_refused(&tenants(&base, dir), "no client certificate");
    let out = tenants(&format!("{base}&sslcert={crt}&sslkey={key}"), dir);
    assert_connects(&out, "sslcert and sslkey", &server);
    let out = tenants_with(&base, dir, &[("PGSSLCERT", &crt), ("PGSSLKEY", &key)]);
    assert_connects(&out, "PGSSLCERT and PGSSLKEY", &server);
    // A key others may read is refused, as libpq refuses it.
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let out = tenants(&format!("{base}&sslcert={crt}&sslkey={key}"), dir);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("has group or world access"),
        "{}",
        describe(&out)
    );
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let home_certs = dir.join(".postgresql");
    std::fs::create_dir(&home_certs).unwrap();
    std::fs::copy(&crt, home_certs.join("postgresql.crt")).unwrap();
    std::fs::copy(&key, home_certs.join("postgresql.key")).unwrap();
    assert_connects(
        &tenants(&base, dir),
        "~/.postgresql/postgresql.crt",
        &server,
    );
    drop(server);
}

/// Whether psql 15 (libpq) connects with `url`, with the environment
/// [`tenants_with`] gives tenantscope.
fn psql_connects(url: &str, home: &Path) -> bool {
    let psql = tenantscope::embedded::find_binaries()
        .expect("PostgreSQL binaries")
        .join("psql");
    let mut command = Command::new(psql);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            command.env_remove(key);
        }
    }
    command
        .env("HOME", home)
        .args(["-X", "-w", "-At", "-c", "SELECT 1", url])
        .current_dir(home)
        .output()
        .expect("run psql")
        .status
        .success()
}

/// Paired with psql: both connect, or both fail (and then in one line).
fn assert_as_psql(url: &str, home: &Path, connects: bool, what: &str, server: &PgServer) {
    assert_eq!(psql_connects(url, home), connects, "psql, {what}: {url}");
    let out = tenants(url, home);
    if connects {
        assert_connects(&out, what, server);
    } else {
        assert_refused(&out, what);
    }
}

/// libpq's prefer tries TLS and, when that try fails (here: pg_hba.conf
/// rejects TLS), the same server again without it; allow tries without
/// TLS first and then with it. Paired with psql on both kinds of server.
#[tokio::test]
async fn prefer_and_allow_retry_the_other_way_as_libpq() {
    let certs = tempfile::tempdir().unwrap();
    let dir = certs.path();
    let (cert_pem, key_pem) = make_v1_cert(dir);
    let no_tls = "local all all trust\nhostssl all all 127.0.0.1/32 reject\nhostnossl all all 127.0.0.1/32 trust\n";
    let (plain, port) = tls_server_with(cert_pem.clone(), key_pem.clone(), no_tls).await;
    let base = format!("postgres://{SUPERUSER}@127.0.0.1:{port}/postgres");
    for (query, connects) in [
        ("", true),
        ("?sslmode=prefer", true),
        ("?sslmode=allow", true),
        ("?sslmode=disable", true),
        ("?sslmode=require", false),
    ] {
        let what = format!("TLS refused by pg_hba.conf, {query:?}");
        assert_as_psql(&format!("{base}{query}"), dir, connects, &what, &plain);
    }
    drop(plain);
    let (tls_only, port) = tls_server(cert_pem, key_pem).await;
    let base = format!("postgres://{SUPERUSER}@127.0.0.1:{port}/postgres");
    for (query, connects) in [
        ("?sslmode=allow", true),
        ("", true),
        ("?sslmode=disable", false),
    ] {
        let what = format!("only TLS, {query:?}");
        assert_as_psql(&format!("{base}{query}"), dir, connects, &what, &tls_only);
    }
    drop(tls_only);
}

/// A root certificate file with several certificates: every one of them
/// is trusted (libpq), not only the first; as sslrootcert and as
/// ~/.postgresql/root.crt. Paired with psql.
#[tokio::test]
async fn a_root_certificate_file_trusts_every_certificate_in_it() {
    let certs = tempfile::tempdir().unwrap();
    let dir = certs.path();
    let (server, port, right, other) = server_of_two_cas(dir, "DNS:localhost").await;
    let bundle = dir.join("bundle.crt");
    std::fs::write(
        &bundle,
        std::fs::read_to_string(&other).unwrap() + &std::fs::read_to_string(&right).unwrap(),
    )
    .unwrap();
    let only_other = other.display().to_string();
    let bundle = bundle.display().to_string();
    let base = format!("postgres://{SUPERUSER}@localhost:{port}/postgres");
    for (query, connects) in [
        (format!("?sslmode=require&sslrootcert={bundle}"), true),
        (format!("?sslmode=verify-ca&sslrootcert={bundle}"), true),
        (format!("?sslmode=verify-full&sslrootcert={bundle}"), true),
        (
            format!("?sslmode=verify-full&hostaddr=127.0.0.1&sslrootcert={bundle}"),
            true,
        ),
        (
            format!("?sslmode=verify-ca&sslrootcert={only_other}"),
            false,
        ),
        // allow: no TLS first (this server refuses it), then TLS, verified.
        (format!("?sslmode=allow&sslrootcert={bundle}"), true),
        (format!("?sslmode=allow&sslrootcert={only_other}"), false),
    ] {
        let what = format!("the right CA second in the file, {query:?}");
        assert_as_psql(&format!("{base}{query}"), dir, connects, &what, &server);
    }
    let home_certs = dir.join(".postgresql");
    std::fs::create_dir(&home_certs).unwrap();
    std::fs::copy(&bundle, home_certs.join("root.crt")).unwrap();
    for query in ["", "?sslmode=require", "?sslmode=verify-full"] {
        let what = format!("the bundle as ~/.postgresql/root.crt, {query:?}");
        assert_as_psql(&format!("{base}{query}"), dir, true, &what, &server);
    }
    drop(server);
}

/// A root certificate file that holds no certificate (garbage, empty, a
/// directory): where libpq needs it (require, verify-ca, verify-full) psql
/// fails with "could not read root certificate file"; tenantscope too, in
/// one line naming the file and what is wrong, exit 2 (bad input), where it
/// printed OpenSSL's "certificate verify failed: self-signed certificate"
/// (exit 1). With prefer both fall back to no TLS (here refused).
#[tokio::test]
async fn an_unusable_root_certificate_file_is_one_line_naming_it_as_psql() {
    let certs = tempfile::tempdir().unwrap();
    let dir = certs.path();
    let (server, port, _, _) = server_of_two_cas(dir, "DNS:localhost").await;
    std::fs::write(dir.join("garbage.crt"), "not a certificate\n").unwrap();
    std::fs::write(dir.join("empty.crt"), "").unwrap();
    std::fs::create_dir(dir.join("a-directory")).unwrap();
    let base = format!("postgres://{SUPERUSER}@localhost:{port}/postgres");
    for (file, why) in [
        ("garbage.crt", "no certificate could be read from it"),
        ("empty.crt", "it is empty"),
        ("a-directory", "it is a directory"),
    ] {
        let path = dir.join(file).display().to_string();
        for mode in ["require", "verify-ca", "verify-full"] {
            let url = format!("{base}?sslmode={mode}&sslrootcert={path}");
            assert!(!psql_connects(&url, dir), "psql, {file} {mode}");
            let out = tenants(&url, dir);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{file} {mode}\n{}",
                describe(&out)
            );
            assert_eq!(stderr.lines().count(), 1, "{}", describe(&out));
            let expected = format!("could not read root certificate file \"{path}\": {why}");
            assert!(
                stderr.contains(&expected),
                "{file} {mode}\n{}",
                describe(&out)
            );
        }
        // prefer: TLS fails on the file, then no TLS, which this server refuses.
        let url = format!("{base}?sslmode=prefer&sslrootcert={path}");
        assert_as_psql(&url, dir, false, &format!("{file} prefer"), &server);
    }
}

/// Several hosts: a TLS try that fails (a certificate no root of the file
/// signed, no TLS under require) ends the tries, as libpq ends them (psql
/// tries no later host); tenantscope went on to the next one. With prefer,
/// the same server is tried again without TLS first.
#[tokio::test]
async fn a_failed_tls_try_ends_the_tries_of_several_hosts_as_libpq() {
    let certs = tempfile::tempdir().unwrap();
    let dir = certs.path();
    let (server, port, right, other) = server_of_two_cas(dir, "DNS:localhost").await;
    let socket = server.socket_dir().display().to_string();
    let hosts = format!("host=localhost,{socket} port={port} dbname=postgres user={SUPERUSER}");
    for (settings, connects) in [
        (
            format!("sslmode=verify-ca sslrootcert={}", other.display()),
            false,
        ),
        (
            format!("sslmode=verify-full sslrootcert={}", other.display()),
            false,
        ),
        (
            format!("sslmode=verify-ca sslrootcert={}", right.display()),
            true,
        ),
    ] {
        let conninfo = format!("{hosts} {settings}");
        assert_as_psql(&conninfo, dir, connects, &settings, &server);
    }
    let socket_first = format!(
        "host={socket},localhost port={port} dbname=postgres user={SUPERUSER} sslmode=verify-ca \
         sslrootcert={}",
        other.display()
    );
    assert_as_psql(&socket_first, dir, true, "the socket first", &server);
}
