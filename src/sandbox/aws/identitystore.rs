//! identitystore operations (AWSIdentityStore.*) the tool reads.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{Call, error, ok, page_of, validation};

fn unknown_op(call: &Call, op: &str) -> Response {
    error(
        &call.request_id,
        StatusCode::BAD_REQUEST,
        "UnknownOperationException",
        &format!("Operation {op} is not supported by this sandbox."),
        json!({}),
    )
}

fn not_found(call: &Call, kind: &str, id: &str) -> Response {
    error(
        &call.request_id,
        StatusCode::BAD_REQUEST,
        "ResourceNotFoundException",
        &format!("{kind} not found."),
        json!({"ResourceType": kind, "ResourceId": id}),
    )
}

pub fn handle(call: &Call, op: &str) -> Response {
    let store_id = call.api.shared.id.identity_store_id.clone();
    match call.str("IdentityStoreId") {
        None => {
            return validation(
                call,
                "1 validation error detected: Value null at 'identityStoreId' failed to satisfy constraint: Member must not be null",
            );
        }
        Some(s) if s != store_id => {
            return error(
                &call.request_id,
                StatusCode::BAD_REQUEST,
                "ResourceNotFoundException",
                &format!("IdentityStore not present for IdentityStoreId: {s}"),
                json!({"ResourceType": "IDENTITY_STORE", "ResourceId": s}),
            );
        }
        Some(_) => {}
    }
    let t = call.api.shared.tenant();
    let aws = &t.aws;
    match op {
        "ListUsers" => {
            // Only the page is turned into JSON: a 100,000-user store pages in linear time.
            let (size, offset) = match (call.max_results(100, 100), call.offset()) {
                (Ok(size), Ok(offset)) => (size, offset),
                (Err(r), _) | (_, Err(r)) => return r,
            };
            let total = aws.users.len();
            let users: Vec<Value> = aws.users.values().skip(offset).take(size).map(|u| u.to_json(&store_id)).collect();
            drop(t);
            super::page_slice("Users", users, offset, total)
        }
        "DescribeUser" => {
            let id = call.str("UserId").unwrap_or("");
            match aws.users.get(id) {
                Some(u) => ok(u.to_json(&store_id)),
                None => not_found(call, "USER", id),
            }
        }
        "GetUserId" => {
            let found = match alternate(call) {
                Err(r) => return r,
                Ok(Alternate::Unique { path: "userName" | "UserName", value }) => {
                    aws.users.values().find(|u| u.user_name.eq_ignore_ascii_case(value))
                }
                Ok(Alternate::Unique { path: "emails.value", value }) => {
                    aws.users.values().find(|u| u.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(value)))
                }
                Ok(Alternate::Unique { path, .. }) => {
                    return validation(call, &format!("{path} is not a unique attribute"));
                }
                Ok(Alternate::External { issuer, id }) => {
                    aws.users.values().find(|u| u.external_id.as_ref().is_some_and(|(i, e)| i == issuer && e == id))
                }
            };
            match found {
                Some(u) => ok(
                    json!({"IdentityStoreId": store_id, "UserId": u.id, "UserArn": format!("arn:aws:identitystore:::user/{}", u.id)}),
                ),
                None => not_found(call, "USER", ""),
            }
        }
        "ListGroups" => {
            let groups: Vec<Value> = aws.groups.values().map(|g| g.to_json(&store_id)).collect();
            drop(t);
            page_of(call, "Groups", groups, 100)
        }
        "DescribeGroup" => {
            let id = call.str("GroupId").unwrap_or("");
            match aws.groups.get(id) {
                Some(g) => ok(g.to_json(&store_id)),
                None => not_found(call, "GROUP", id),
            }
        }
        "GetGroupId" => {
            let found = match alternate(call) {
                Err(r) => return r,
                Ok(Alternate::Unique { path: "displayName" | "DisplayName", value }) => {
                    aws.groups.values().find(|g| g.display_name == value)
                }
                Ok(Alternate::Unique { path, .. }) => {
                    return validation(call, &format!("{path} is not a unique attribute"));
                }
                Ok(Alternate::External { issuer, id }) => {
                    aws.groups.values().find(|g| g.external_id.as_ref().is_some_and(|(i, e)| i == issuer && e == id))
                }
            };
            match found {
                Some(g) => ok(
                    json!({"IdentityStoreId": store_id, "GroupId": g.id, "GroupArn": format!("arn:aws:identitystore:::group/{}", g.id)}),
                ),
                None => not_found(call, "GROUP", ""),
            }
        }
        "ListGroupMemberships" => {
            let gid = call.str("GroupId").unwrap_or("");
            let Some(g) = aws.groups.get(gid) else {
                return not_found(call, "GROUP", gid);
            };
            let items: Vec<Value> = g.members.iter().map(|(uid, m)| membership_json(&store_id, gid, uid, m)).collect();
            drop(t);
            page_of(call, "GroupMemberships", items, 100)
        }
        "ListGroupMembershipsForMember" => {
            let uid = call
                .input
                .get("MemberId")
                .and_then(|m| m.get("UserId"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let items: Vec<Value> = aws
                .groups
                .values()
                .filter_map(|g| g.members.get(&uid).map(|m| membership_json(&store_id, &g.id, &uid, m)))
                .collect();
            drop(t);
            page_of(call, "GroupMemberships", items, 100)
        }
        "IsMemberInGroups" => {
            let uid = call
                .input
                .get("MemberId")
                .and_then(|m| m.get("UserId"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let gids: Vec<String> = call
                .input
                .get("GroupIds")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            if gids.is_empty() || gids.len() > 100 {
                return validation(
                    call,
                    "1 validation error detected: Value at 'groupIds' failed to satisfy constraint: Member must have length between 1 and 100",
                );
            }
            let results: Vec<Value> = gids
                .iter()
                .map(|g| json!({"GroupId": g, "MemberId": {"UserId": uid}, "MembershipExists": aws.groups.get(g).is_some_and(|g| g.members.contains_key(&uid))}))
                .collect();
            ok(json!({"Results": results}))
        }
        _ => {
            drop(t);
            unknown_op(call, op)
        }
    }
}

fn membership_json(store_id: &str, gid: &str, uid: &str, m: &super::store::Membership) -> Value {
    let at = crate::sandbox::state::epoch(m.created_at);
    json!({"IdentityStoreId": store_id, "MembershipId": m.id, "MembershipArn": format!("arn:aws:identitystore:::membership/{}", m.id), "GroupId": gid,
           "MemberId": {"UserId": uid}, "CreatedAt": at, "UpdatedAt": at, "CreatedBy": "SCIM", "UpdatedBy": "SCIM"})
}

/// GetUserId's and GetGroupId's `AlternateIdentifier`: a unique attribute or an external id.
enum Alternate<'a> {
    Unique { path: &'a str, value: &'a str },
    External { issuer: &'a str, id: &'a str },
}

fn alternate<'a>(call: &'a Call) -> Result<Alternate<'a>, Response> {
    let alt = call.input.get("AlternateIdentifier");
    let text = |v: Option<&'a Value>, key: &str| v.and_then(|v| v.get(key)).and_then(Value::as_str).unwrap_or("");
    if let Some(ua) = alt.and_then(|a| a.get("UniqueAttribute")) {
        Ok(Alternate::Unique { path: text(Some(ua), "AttributePath"), value: text(Some(ua), "AttributeValue") })
    } else if let Some(ext) = alt.and_then(|a| a.get("ExternalId")) {
        Ok(Alternate::External { issuer: text(Some(ext), "Issuer"), id: text(Some(ext), "Id") })
    } else {
        Err(validation(
            call,
            "1 validation error detected: Value null at 'alternateIdentifier' failed to satisfy constraint: Member must not be null",
        ))
    }
}
