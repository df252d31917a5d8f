//! The databases a test runs on: a fresh SQLite file or a fresh PostgreSQL database, and
//! `both_dbs!`, which runs a test body on each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server `make test` starts; tests on PostgreSQL fail without it (they never
/// pass silently).
pub fn postgres_admin_url() -> String {
    std::env::var("OPENCOURT_TEST_POSTGRES_URL").expect(
        "OPENCOURT_TEST_POSTGRES_URL is not set: run the tests with `make test`, which starts PostgreSQL",
    )
}

/// A fresh, empty database of the given kind; returns its URL (and the temp dir it lives in).
pub async fn fresh_database(db: Db) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    match db {
        Db::Sqlite => (
            format!("sqlite://{}", dir.path().join("opencourt.db").display()),
            dir,
        ),
        Db::Postgres => {
            use sqlx::Connection;
            let admin = postgres_admin_url();
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .expect("connect to the test PostgreSQL");
            let name = format!("oc_test_{}", uuid::Uuid::new_v4().simple());
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("create test database");
            let base = admin.rsplit_once('/').expect("url has a database").0;
            (format!("{base}/{name}"), dir)
        }
    }
}

/// Instantiates `async fn name(db: Db)` test bodies once per database.
#[macro_export]
macro_rules! both_dbs {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Db::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Db::Postgres).await
                }
            )*
        }
    };
}
