//! `serve --demo`: seeds, once, a judge and a clerk, a case, a hearing and invitations, and
//! prints how to use them. The credentials are also written to `DATA/demo-credentials.txt` (the
//! only place they exist in clear text), so a restart can show them again.
use std::path::Path;

use chrono::{Duration, Utc};
use hearing_core::app::{App, Caller};
use hearing_core::domain::*;
use rand::RngCore;

const SEEDED: &str = "demo_seeded";

fn password() -> String {
    let mut b = [0u8; 9];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

pub async fn seed(app: &App, data_dir: &Path, listen: &str) -> anyhow::Result<()> {
    let file = data_dir.join("demo-credentials.txt");
    if app.system().setting(SEEDED).await?.is_some() {
        match std::fs::read_to_string(&file) {
            Ok(text) => println!("demo data already seeded:\n{text}"),
            Err(_) => println!("demo data already seeded (credentials were printed when it was)"),
        }
        return Ok(());
    }
    let name = |s: &str| DisplayName::parse("display_name", s);
    let (judge_pw, clerk_pw) = (password(), password());
    let judge = app
        .add_user(
            Username::parse("username", "judge")?,
            name("Judge Wang")?,
            Role::Judge,
            judge_pw.clone(),
        )
        .await?;
    let clerk = app
        .add_user(
            Username::parse("username", "clerk")?,
            name("Clerk Li")?,
            Role::Clerk,
            clerk_pw.clone(),
        )
        .await?;
    let as_judge = Caller::Staff(judge.clone());
    let case = app
        .create_case(
            &as_judge,
            CaseNumber::parse("case_number", "DEMO-2026-0001")?,
            Title::parse("title", "Zhang v. Harbour Shipping Ltd. (contract dispute)")?,
            Visibility::Public,
        )
        .await?;
    let starts = Utc::now();
    let hearing = app
        .schedule_hearing(
            &as_judge,
            case.id,
            Title::parse("title", "Preliminary hearing")?,
            starts,
            starts + Duration::hours(3),
            None,
        )
        .await?;
    let mut invites = String::new();
    for (who, role) in [
        ("Counsel Chen (for the claimant)", Role::Counsel),
        ("Mr. Zhang (claimant)", Role::Party),
        ("Ms. Liu (witness)", Role::Witness),
        ("Public gallery", Role::Observer),
    ] {
        let (p, code) = app.invite(&as_judge, hearing.id, name(who)?, role).await?;
        invites.push_str(&format!(
            "  {role:<9} {:<34} participant {}  code {code}\n            link http://{listen}/#/join/{code}\n",
            p.display_name, p.id
        ));
    }
    let text = format!(
        "server:   {listen}  (the browser app: http://{listen}/)\n\
         judge:    username judge  password {judge_pw}  (user id {})\n\
         clerk:    username clerk  password {clerk_pw}  (user id {})\n\
         case:     {} {} (id {})\n\
         hearing:  {} (id {})\n\
         invitations (one-time codes: open the link, or redeem with AuthService/RedeemInvite):\n{invites}",
        judge.id,
        clerk.id,
        case.case_number.as_str(),
        case.title,
        case.id,
        hearing.title,
        hearing.id,
    );
    write_private(&file, &text)?;
    app.system()
        .set_setting_once(SEEDED, &Utc::now().to_rfc3339())
        .await?;
    println!("demo data seeded:\n{text}");
    Ok(())
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    opts.open(path)?.write_all(text.as_bytes())
}
