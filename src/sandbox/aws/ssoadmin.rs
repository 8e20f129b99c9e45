//! sso-admin operations (SWBExternalService.*): the instance, permission sets and the
//! account assignments that turn group membership into access.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{Call, error, ok, page_of, validation};

fn check_instance(call: &Call) -> Result<(), Response> {
    let want = &call.api.shared.id.instance_arn;
    match call.str("InstanceArn") {
        Some(a) if a == want => Ok(()),
        Some(a) => Err(error(
            &call.request_id,
            StatusCode::BAD_REQUEST,
            "ResourceNotFoundException",
            &format!("Instance {a} does not exist."),
            json!({}),
        )),
        None => Err(validation(
            call,
            "1 validation error detected: Value null at 'instanceArn' failed to satisfy constraint: Member must not be null",
        )),
    }
}

fn assignment_json(a: &super::store::Assignment) -> Value {
    json!({"AccountId": a.account_id, "PermissionSetArn": a.permission_set_arn, "PrincipalId": a.principal_id, "PrincipalType": a.principal_type})
}

pub fn handle(call: &Call, op: &str) -> Response {
    let shared = &call.api.shared;
    if op != "ListInstances"
        && let Err(r) = check_instance(call)
    {
        return r;
    }
    let t = shared.tenant();
    let aws = &t.aws;
    match op {
        "ListInstances" => {
            let created = crate::sandbox::state::epoch(shared.now() - chrono::Duration::days(400));
            ok(json!({"Instances": [{
                "InstanceArn": aws.instance_arn, "IdentityStoreId": aws.store_id,
                "IdentityStoreArn": format!("arn:aws:identitystore::{}:identitystore/{}", aws.account_id, aws.store_id),
                "OwnerAccountId": aws.account_id, "Name": "sandbox-identity-center", "CreatedDate": created, "Status": "ACTIVE",
                "PrimaryRegion": aws.region, "Regions": [{"RegionName": aws.region, "Status": "ACTIVE", "AddedDate": created, "IsPrimaryRegion": true}]
            }]}))
        }
        "ListPermissionSets" => {
            let arns: Vec<Value> = aws.permission_sets.iter().map(|p| json!(p.arn)).collect();
            drop(t);
            page_of(call, "PermissionSets", arns, 100)
        }
        "DescribePermissionSet" => {
            let arn = call.str("PermissionSetArn").unwrap_or("");
            match aws.permission_sets.iter().find(|p| p.arn == arn) {
                Some(p) => ok(
                    json!({"PermissionSet": {"Name": p.name, "PermissionSetArn": p.arn, "Description": p.description,
                                                        "CreatedDate": crate::sandbox::state::epoch(p.created), "SessionDuration": p.session_duration}}),
                ),
                None => error(
                    &call.request_id,
                    StatusCode::BAD_REQUEST,
                    "ResourceNotFoundException",
                    &format!("Could not find PermissionSet with ARN {arn}."),
                    json!({}),
                ),
            }
        }
        "ListAccountAssignments" => {
            let (Some(account), Some(ps)) = (call.str("AccountId"), call.str("PermissionSetArn")) else {
                return validation(
                    call,
                    "2 validation errors detected: accountId and permissionSetArn must not be null",
                );
            };
            let items: Vec<Value> = aws
                .assignments
                .iter()
                .filter(|a| a.account_id == account && a.permission_set_arn == ps)
                .map(assignment_json)
                .collect();
            drop(t);
            page_of(call, "AccountAssignments", items, 100)
        }
        "ListAccountAssignmentsForPrincipal" => {
            let (Some(pid), Some(ptype)) = (call.str("PrincipalId"), call.str("PrincipalType")) else {
                return validation(
                    call,
                    "2 validation errors detected: principalId and principalType must not be null",
                );
            };
            if ptype != "USER" && ptype != "GROUP" {
                return validation(
                    call,
                    &format!(
                        "1 validation error detected: Value '{ptype}' at 'principalType' failed to satisfy constraint: Member must satisfy enum value set: [USER, GROUP]"
                    ),
                );
            }
            let account = call.input.get("Filter").and_then(|f| f.get("AccountId")).and_then(Value::as_str);
            // Direct assignments only, as moto answers for USER; whether AWS includes
            // group-derived ones here is unverified (research/aws.md §4).
            let items: Vec<Value> = aws
                .assignments
                .iter()
                .filter(|a| {
                    a.principal_id == pid && a.principal_type == ptype && account.is_none_or(|acc| a.account_id == acc)
                })
                .map(assignment_json)
                .collect();
            drop(t);
            page_of(call, "AccountAssignments", items, 100)
        }
        _ => {
            drop(t);
            error(
                &call.request_id,
                StatusCode::BAD_REQUEST,
                "UnknownOperationException",
                &format!("Operation {op} is not supported by this sandbox."),
                json!({}),
            )
        }
    }
}
