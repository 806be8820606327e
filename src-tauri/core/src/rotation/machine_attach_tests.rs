//! Unit tests of the attach and detach steps in the machine: where they run, the facts their
//! intents journal, reading a rotation saved before they existed, the expiry override.

use super::*;
use crate::rotation::Attachment;

fn guardrail() -> Attachment {
    Attachment::Guardrail {
        id: "g1".into(),
        name: "EU only".into(),
    }
}

#[test]
fn attach_runs_before_deploy_and_detach_after_delete_with_the_snapshot_in_the_journal() {
    let mut rotation = fresh(true);
    rotation.attachments = vec![
        guardrail(),
        Attachment::Byok {
            id: "b1".into(),
            provider: "openai".into(),
            name: "prod".into(),
        },
    ];
    complete(&mut rotation, RotationStepName::Create, at(1));
    complete(&mut rotation, RotationStepName::StoreSecret, at(1));
    assert_eq!(
        rotation.next_move(at(1)),
        Next::Run(RotationStepName::Attach)
    );
    let facts = rotation.begin_step(RotationStepName::Attach, at(1));
    assert_eq!(facts["attachments"][0]["kind"], "guardrail");
    assert_eq!(facts["attachments"][1]["id"], "b1");
    assert_eq!(facts["new_key_hash"], "b".repeat(64));
    // Interrupted here: the next run runs attach again (it is idempotent), not deploy.
    assert_eq!(
        rotation.next_move(at(2)),
        Next::Run(RotationStepName::Attach)
    );
    rotation.finish_step(
        RotationStepName::Attach,
        StepOutcome::Done("attached".into()),
        at(2),
    );
    assert_eq!(
        rotation.next_move(at(2)),
        Next::Run(RotationStepName::Deploy)
    );

    let mut rotation = at_step(RotationStepName::Detach);
    rotation.attachments = vec![guardrail()];
    let now = rotation.grace_until.unwrap();
    let facts = rotation.begin_step(RotationStepName::Detach, now);
    assert_eq!(facts["old_key_hash"], "a".repeat(64));
    assert_eq!(facts["attachments"][0]["id"], "g1");
}

#[test]
fn a_rotation_saved_before_attach_and_detach_existed_reads_them_as_skipped() {
    let mut rotation = at_step(RotationStepName::Verify);
    let mut json = serde_json::to_value(&rotation).unwrap();
    json["steps"] = serde_json::Value::Array(
        json["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|step| step["step"] != "attach" && step["step"] != "detach")
            .cloned()
            .collect(),
    );
    json.as_object_mut().unwrap().remove("attachments");
    let back: Rotation = serde_json::from_value(json).unwrap();
    assert_eq!(back.steps.len(), RotationStepName::ALL.len());
    for (record, name) in back.steps.iter().zip(RotationStepName::ALL) {
        assert_eq!(record.step, name);
    }
    assert_eq!(
        back.step(RotationStepName::Attach).status,
        RotationStepStatus::Skipped
    );
    assert_eq!(
        back.step(RotationStepName::Detach).status,
        RotationStepStatus::Skipped
    );
    assert_eq!(back.current_step(), Some(RotationStepName::Verify));
    assert!(back.attachments.is_empty());
    // The rest of the state is as saved.
    rotation.steps = back.steps.clone();
    assert_eq!(back, rotation);
}

#[test]
fn an_expiry_override_goes_into_the_create_request() {
    let mut rotation = fresh(true);
    let extended: DateTime<Utc> = "2027-06-30T00:00:00Z".parse().unwrap();
    rotation.settings.new_expiry = NewExpiry::At(extended);
    let request = rotation.create_request(at(5));
    assert_eq!(request.expires_at, Some(extended));
    assert_eq!(
        request.workspace_id.as_deref(),
        Some("0df9e665-d932-5740-b2c7-b52af166bc11")
    );
    assert_eq!(request.limit, Some(25.0));
    assert_eq!(request.include_byok_in_limit, Some(true));
}
