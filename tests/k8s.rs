//! The Kubernetes manifests (deploy/k8s): the plain setup (`kubectl apply -k deploy/k8s`, the
//! StatefulSet of `base/`) and the stateless object-storage overlay render with
//! `kubectl kustomize`, pass schema validation (`kubernetes-validate --strict`, PyPI, whose
//! schemas ship in the package), and hold what docs/operations.md promises: a Deployment with
//! an emptyDir spool and `--sink`, a HorizontalPodAutoscaler, a PodDisruptionBudget, the store
//! Secret, a grace period above the drain budget, and only flags that `serve` knows.
//!
//! Without `kubectl` or `kubernetes-validate` the test says so and passes, unless
//! `MICROMODEL_REQUIRE_TOOLS=1` (set by `.ci/run`, which installs them) makes it fail.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The Kubernetes version the schemas are checked against.
const KUBERNETES: &str = "1.32.0";

fn tool_missing(why: &str) -> bool {
    let why = format!("SKIPPED: {why}");
    assert!(
        std::env::var_os("MICROMODEL_REQUIRE_TOOLS").is_none(),
        "{why}"
    );
    eprintln!("{why}");
    true
}

/// `kubectl kustomize DIR`, validated, as JSON documents; `None` when a tool is missing.
fn render(dir: &str) -> Option<Vec<Value>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Ok(output) = Command::new("kubectl")
        .arg("kustomize")
        .arg(root.join(dir))
        .output()
    else {
        tool_missing("no kubectl on PATH");
        return None;
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "kubectl kustomize {dir}: {stderr}");
    let rendered = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(rendered.path(), &output.stdout).expect("write rendered");

    let validate = Command::new("python3")
        .args([
            "-m",
            "kubernetes_validate",
            "--strict",
            "--quiet",
            "-k",
            KUBERNETES,
        ])
        .arg(rendered.path())
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&validate.stdout).into_owned()
        + &String::from_utf8_lossy(&validate.stderr);
    if text.contains("No module named kubernetes_validate") {
        tool_missing("python3 cannot import kubernetes_validate (pip install kubernetes-validate)");
        return None;
    }
    assert!(
        validate.status.success(),
        "schema validation of {dir}: {text}"
    );

    // YAML to JSON with PyYAML (a kubernetes-validate dependency).
    let json = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
        ])
        .arg(rendered.path())
        .output()
        .expect("python3 runs");
    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    Some(serde_json::from_slice(&json.stdout).expect("json"))
}

fn kinds(docs: &[Value]) -> Vec<String> {
    let mut kinds: Vec<String> = docs
        .iter()
        .map(|d| {
            format!(
                "{}/{}",
                d["kind"].as_str().unwrap_or("?"),
                d["metadata"]["name"].as_str().unwrap_or("?")
            )
        })
        .collect();
    kinds.sort();
    kinds
}

fn find<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

/// The value after `flag` in `args`.
fn arg<'a>(args: &'a [Value], flag: &str) -> &'a str {
    let at = args
        .iter()
        .position(|a| a == flag)
        .unwrap_or_else(|| panic!("no {flag} in {args:?}"));
    args[at + 1].as_str().expect("string")
}

/// Every `--flag` of the container's args is one `micromodel serve` knows.
fn flags_are_known(args: &[Value]) {
    let help = Command::new(env!("CARGO_BIN_EXE_micromodel"))
        .args(["serve", "--help"])
        .output()
        .expect("binary runs");
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in args
        .iter()
        .filter_map(Value::as_str)
        .filter(|a| a.starts_with("--"))
    {
        assert!(
            help.contains(&format!("{flag} "))
                || help.contains(&format!("{flag}="))
                || help.contains(&format!("{flag}\n")),
            "serve does not know {flag}"
        );
    }
}

#[test]
fn the_plain_setup_and_its_base_render_the_statefulset() {
    let Some(plain) = render("deploy/k8s") else {
        return;
    };
    let base = render("deploy/k8s/base").expect("tools were found");
    assert_eq!(plain, base, "deploy/k8s is the base");
    assert_eq!(
        kinds(&plain),
        [
            "ConfigMap/micromodel-config",
            "Service/micromodel",
            "Service/micromodel-headless",
            "StatefulSet/micromodel"
        ]
    );
    let container = &find(&plain, "StatefulSet")["spec"]["template"]["spec"]["containers"][0];
    flags_are_known(container["args"].as_array().expect("args"));
}

#[test]
fn the_object_storage_overlay_is_a_stateless_deployment() {
    let Some(docs) = render("deploy/k8s/overlays/object-storage") else {
        return;
    };
    assert_eq!(
        kinds(&docs),
        [
            "ConfigMap/micromodel-config",
            "Deployment/micromodel",
            "HorizontalPodAutoscaler/micromodel",
            "PodDisruptionBudget/micromodel",
            "Service/micromodel",
            "ServiceAccount/micromodel"
        ]
    );
    let pod = &find(&docs, "Deployment")["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let args = container["args"].as_array().expect("args");
    flags_are_known(args);
    assert!(arg(args, "--sink").starts_with("s3://"), "{args:?}");
    assert_eq!(arg(args, "--data-dir"), "/data");

    // The spool is an emptyDir mounted at --data-dir, larger than --sink-spool-bytes.
    let data = pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == "data")
        .expect("a data volume");
    assert_eq!(data["emptyDir"]["sizeLimit"], "2Gi");
    let spool: u64 = arg(args, "--sink-spool-bytes").parse().expect("number");
    assert!(spool < 2 << 30, "spool {spool} must fit the emptyDir");

    // The grace period covers preStop + --drain-seconds (drain and final upload) + exit.
    let drain: u64 = arg(args, "--drain-seconds").parse().expect("number");
    let grace = pod["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("grace");
    let pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .expect("preStop sleep");
    assert!(
        grace >= pre_stop + drain + 5,
        "grace {grace}, drain {drain}"
    );

    // Credentials from the store Secret, identity from the ServiceAccount (IRSA).
    let secrets: Vec<&str> = container["envFrom"]
        .as_array()
        .expect("envFrom")
        .iter()
        .filter_map(|e| e["secretRef"]["name"].as_str())
        .collect();
    assert_eq!(secrets, ["micromodel-keys", "micromodel-store"]);
    assert_eq!(pod["serviceAccountName"], "micromodel");

    let hpa = &find(&docs, "HorizontalPodAutoscaler")["spec"];
    assert_eq!(hpa["scaleTargetRef"]["kind"], "Deployment");
    assert!(hpa["minReplicas"].as_u64() >= Some(2));
    assert!(
        find(&docs, "Deployment")["spec"]["replicas"].is_null(),
        "the HPA owns replicas"
    );
    let selector = &find(&docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"];
    assert_eq!(*selector, pod_labels(&docs));
}

fn pod_labels(docs: &[Value]) -> Value {
    find(docs, "Deployment")["spec"]["template"]["metadata"]["labels"].clone()
}

/// The example Secrets are valid too (they are not applied by the kustomizations).
#[test]
fn the_example_secrets_validate() {
    for file in [
        "deploy/k8s/base/secret.yaml",
        "deploy/k8s/overlays/object-storage/store-secret.yaml",
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let Ok(validate) = Command::new("python3")
            .args([
                "-m",
                "kubernetes_validate",
                "--strict",
                "--quiet",
                "-k",
                KUBERNETES,
            ])
            .arg(&path)
            .output()
        else {
            tool_missing("no python3");
            return;
        };
        let text = String::from_utf8_lossy(&validate.stderr).into_owned();
        if text.contains("No module named kubernetes_validate") {
            tool_missing("python3 cannot import kubernetes_validate");
            return;
        }
        assert!(validate.status.success(), "{file}: {text}");
    }
}
