//! Who a token is (WhoAmI) and the staff accounts (ListStaff), as the browser app asks them
//! (issue 14): a page that kept its token learns who it is without a new code; a clerk picks a
//! judge from the staff list.
use hearing_core::domain::Role;
use opencourt_proto::v1 as pb;
use opencourt_tests::*;
use tonic::Code;

async fn a_token_says_who_it_belongs_to(db: Db) {
    let t = TestApp::start(db).await;
    let s = t.scene("whoami", pb::Visibility::Public).await;
    let mut auth = t.auth().await;
    let who = |token: &str| authed(token, pb::WhoAmIRequest {});

    let judge = auth.who_am_i(who(&s.judge)).await.unwrap().into_inner();
    assert_eq!(judge.user.as_ref(), Some(&s.judge_user));
    assert!(judge.participant.is_none());
    assert!(judge.expires_at.is_some());

    // An invited participant, as they are now: waiting once they joined.
    t.open(&s).await;
    t.hearings()
        .await
        .join_hearing(authed(
            s.token(Role::Witness),
            pb::JoinHearingRequest {
                hearing_id: s.hearing.id.clone(),
            },
        ))
        .await
        .unwrap();
    let witness = auth
        .who_am_i(who(s.token(Role::Witness)))
        .await
        .unwrap()
        .into_inner();
    assert!(witness.user.is_none());
    let p = witness.participant.expect("the witness's participant");
    assert_eq!(
        (p.id.as_str(), p.hearing_id.as_str(), p.presence()),
        (
            s.participant(Role::Witness).id.as_str(),
            s.hearing.id.as_str(),
            pb::Presence::Waiting
        )
    );

    // No token, or one this server never issued.
    assert_status(
        auth.who_am_i(pb::WhoAmIRequest {}).await,
        Code::Unauthenticated,
        "authorization",
    );
    assert_status(
        auth.who_am_i(who("not-a-token")).await,
        Code::Unauthenticated,
        "not valid",
    );
    t.stop().await;
}

async fn judges_clerks_and_admins_list_the_staff(db: Db) {
    let t = TestApp::start(db).await;
    let s = t.scene("staff", pb::Visibility::Public).await;
    let (admin, _) = t.staff("admin-staff", Role::Admin, "Admin Ma").await;
    let (_, other) = t.staff("judge-zhao", Role::Judge, "Judge Zhao").await;
    let (_, retired) = t.staff("judge-an", Role::Judge, "Judge An").await;
    let mut auth = t.auth().await;
    auth.set_account_enabled(authed(
        &admin,
        pb::SetAccountEnabledRequest {
            username: retired.username.clone(),
            enabled: false,
        },
    ))
    .await
    .unwrap();
    let list =
        |token: &str, role: pb::Role| authed(token, pb::ListStaffRequest { role: role as i32 });
    let names = |r: pb::ListStaffResponse| -> Vec<(String, bool)> {
        r.staff
            .into_iter()
            .map(|m| (m.user.unwrap().display_name, m.enabled))
            .collect()
    };
    for token in [&s.judge, &s.clerk, &admin] {
        let all = auth
            .list_staff(list(token, pb::Role::Unspecified))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            names(all),
            [
                ("Admin Ma", true),
                ("Clerk Li", true),
                ("Judge An", false),
                ("Judge Wang", true),
                ("Judge Zhao", true),
            ]
            .map(|(n, e)| (n.to_string(), e))
        );
    }
    let judges = auth
        .list_staff(list(&s.clerk, pb::Role::Judge))
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<String> = judges
        .staff
        .iter()
        .map(|m| m.user.clone().unwrap().id)
        .collect();
    assert_eq!(ids, [retired.id, s.judge_user.id.clone(), other.id]);

    assert_status(
        auth.list_staff(list(&s.clerk, pb::Role::Witness)).await,
        Code::InvalidArgument,
        "role",
    );
    assert_status(
        auth.list_staff(list(s.token(Role::Counsel), pb::Role::Unspecified))
            .await,
        Code::PermissionDenied,
        "may not list staff",
    );
    t.stop().await;
}

both_dbs!(
    a_token_says_who_it_belongs_to,
    judges_clerks_and_admins_list_the_staff
);
