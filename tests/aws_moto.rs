//! The AWS client against moto_server (a third-party AWS emulator from PyPI), for
//! what moto supports: users, groups, memberships, permission sets and account
//! assignments. Where moto lacks a field (UserStatus, ExternalIds, ARNs,
//! timestamps) the client reports it as absent instead of inventing it.

mod common;

use aws_sdk_identitystore::types::{Email, MemberId, Name};
use aws_sdk_ssoadmin::types::{PrincipalType, TargetType};
use common::{moto, sdk_config};
use jmlproof::aws::AwsClient;
use jmlproof::http::Footprint;

#[tokio::test]
async fn reads_what_moto_holds_and_copes_with_what_it_lacks() {
    let moto = moto().await;
    let sdk = sdk_config(&moto.url, "us-east-1", "testing", "testing", 1).await;
    let sso = aws_sdk_ssoadmin::Client::new(&sdk);
    let instance = sso.list_instances().send().await.unwrap().instances()[0].clone();
    let (arn, store) =
        (instance.instance_arn().unwrap().to_string(), instance.identity_store_id().unwrap().to_string());
    let is = aws_sdk_identitystore::Client::new(&sdk);
    let mut user_ids = Vec::new();
    for i in 0..5 {
        let out = is
            .create_user()
            .identity_store_id(&store)
            .user_name(format!("moto.user{i}@example.com"))
            .display_name(format!("Moto User{i}"))
            .name(Name::builder().given_name("Moto").family_name(format!("User{i}")).build())
            .emails(Email::builder().value(format!("moto.user{i}@example.com")).primary(true).build())
            .send()
            .await
            .unwrap();
        user_ids.push(out.user_id().to_string());
    }
    let group = is
        .create_group()
        .identity_store_id(&store)
        .display_name("APP-AWS-Engineering")
        .send()
        .await
        .unwrap()
        .group_id()
        .to_string();
    is.create_group_membership()
        .identity_store_id(&store)
        .group_id(&group)
        .member_id(MemberId::UserId(user_ids[0].clone()))
        .send()
        .await
        .unwrap();
    let ps = sso
        .create_permission_set()
        .instance_arn(&arn)
        .name("EngineerReadOnly")
        .session_duration("PT4H")
        .send()
        .await
        .unwrap();
    let ps_arn = ps.permission_set().unwrap().permission_set_arn().unwrap().to_string();
    sso.create_account_assignment()
        .instance_arn(&arn)
        .target_id("123456789012")
        .target_type(TargetType::AwsAccount)
        .permission_set_arn(&ps_arn)
        .principal_type(PrincipalType::Group)
        .principal_id(&group)
        .send()
        .await
        .unwrap();

    let fp = Footprint::new();
    let aws = AwsClient::new(&sdk, &store, &arn, fp.clone(), None);
    // Paging to the end (100 per page; five users here) and absent fields as None.
    let users = aws.list_users().await.unwrap();
    assert_eq!(users.len(), 5);
    let u = aws.user_by_user_name("moto.user0@example.com").await.unwrap().unwrap();
    assert_eq!(u.id, user_ids[0]);
    assert_eq!(u.status, None, "moto has no UserStatus: unknown, not ENABLED");
    assert!(u.external_ids.is_empty() && u.user_arn.is_none() && u.revision.is_none() && u.created_at.is_none());
    assert!(aws.user_by_user_name("nobody@example.com").await.unwrap().is_none());
    assert_eq!(aws.group_id_by_name("APP-AWS-Engineering").await.unwrap().as_deref(), Some(group.as_str()));
    assert_eq!(aws.group_memberships(&group).await.unwrap()[0].user_id.as_deref(), Some(user_ids[0].as_str()));
    assert_eq!(aws.memberships_of_user(&user_ids[0]).await.unwrap().len(), 1);
    assert_eq!(
        aws.is_member_in_groups(&user_ids[1], std::slice::from_ref(&group)).await.unwrap(),
        vec![(group.clone(), false)]
    );
    let assigned = aws.assignments_for(&group, true, Some("123456789012")).await.unwrap();
    assert_eq!(assigned.len(), 1);
    assert_eq!(
        aws.permission_set(&assigned[0].permission_set_arn).await.unwrap().session_duration.as_deref(),
        Some("PT4H")
    );
    assert_eq!(aws.instances().await.unwrap()[0].identity_store_id, store);
    // A deleted user is absent.
    is.delete_user().identity_store_id(&store).user_id(&user_ids[4]).send().await.unwrap();
    assert!(aws.describe_user(&user_ids[4]).await.unwrap().is_none());
    assert!(fp.snapshot().iter().any(|s| s.endpoint == "POST identitystore.ListUsers"));
}
