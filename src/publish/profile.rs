//! Credentials and region from the AWS CLI's shared files, for users who
//! keep them there (`aws configure`) rather than in the environment.
//! `object_store` reads only the environment, so this fills the gaps the
//! way the AWS tools do: variables first, then the profile named by
//! `AWS_PROFILE` (else `default`) in `~/.aws/credentials` and
//! `~/.aws/config` (or `AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`).

use std::path::{Path, PathBuf};

use ini::Ini;

/// What a profile gives; every field may be missing.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Profile {
    /// `aws_access_key_id`.
    pub access_key_id: Option<String>,
    /// `aws_secret_access_key`.
    pub secret_access_key: Option<String>,
    /// `aws_session_token`, for temporary credentials.
    pub session_token: Option<String>,
    /// `region`.
    pub region: Option<String>,
    /// `endpoint_url`, for S3-compatible stores.
    pub endpoint_url: Option<String>,
}

impl Profile {
    /// The profile named by the environment, read from the shared files
    /// the environment names (or their default places). Files that are
    /// missing give nothing; a file that cannot be parsed is an error
    /// naming it.
    pub fn from_env() -> Result<Profile, String> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let name = var("AWS_PROFILE")
            .or_else(|| var("AWS_DEFAULT_PROFILE"))
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap_or_else(|| "default".to_owned());
        let home = var("HOME").map(PathBuf::from);
        let credentials = var("AWS_SHARED_CREDENTIALS_FILE")
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws/credentials")));
        let config = var("AWS_CONFIG_FILE")
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws/config")));
        Profile::read(&name, credentials.as_deref(), config.as_deref())
    }

    /// Profile `name` from these files: the credentials file's `[name]`
    /// section, then the config file's `[profile name]` (`[default]` for
    /// the default profile) for what the first did not give.
    pub fn read(
        name: &str,
        credentials: Option<&Path>,
        config: Option<&Path>,
    ) -> Result<Profile, String> {
        let mut profile = Profile::default();
        if let Some(file) = credentials {
            if let Some(ini) = load(file)? {
                profile.fill(&ini, name);
            }
        }
        if let Some(file) = config {
            if let Some(ini) = load(file)? {
                let section = if name == "default" {
                    "default".to_owned()
                } else {
                    format!("profile {name}")
                };
                profile.fill(&ini, &section);
            }
        }
        Ok(profile)
    }

    fn fill(&mut self, ini: &Ini, section: &str) {
        let Some(properties) = ini.section(Some(section)) else {
            return;
        };
        let get = |key: &str| {
            properties
                .get(key)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        self.access_key_id = self
            .access_key_id
            .take()
            .or_else(|| get("aws_access_key_id"));
        self.secret_access_key = self
            .secret_access_key
            .take()
            .or_else(|| get("aws_secret_access_key"));
        self.session_token = self
            .session_token
            .take()
            .or_else(|| get("aws_session_token"));
        self.region = self.region.take().or_else(|| get("region"));
        self.endpoint_url = self.endpoint_url.take().or_else(|| get("endpoint_url"));
    }
}

fn load(file: &Path) -> Result<Option<Ini>, String> {
    match std::fs::read_to_string(file) {
        Ok(text) => Ini::load_from_str(&text)
            .map(Some)
            .map_err(|e| format!("{}: {e}", file.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", file.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_named_profile_from_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let credentials = dir.path().join("credentials");
        let config = dir.path().join("config");
        std::fs::write(
            &credentials,
            "[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key = s0\n\n\
             [werdau]\naws_access_key_id = AKWERDAU\naws_secret_access_key = s3cr3t\n",
        )
        .unwrap();
        std::fs::write(
            &config,
            "[default]\nregion = us-east-1\n\n[profile werdau]\nregion = garage\n\
             endpoint_url = http://127.0.0.1:3900\n",
        )
        .unwrap();
        let werdau = Profile::read("werdau", Some(&credentials), Some(&config)).unwrap();
        assert_eq!(werdau.access_key_id.as_deref(), Some("AKWERDAU"));
        assert_eq!(werdau.secret_access_key.as_deref(), Some("s3cr3t"));
        assert_eq!(werdau.region.as_deref(), Some("garage"));
        assert_eq!(
            werdau.endpoint_url.as_deref(),
            Some("http://127.0.0.1:3900")
        );
        let default = Profile::read("default", Some(&credentials), Some(&config)).unwrap();
        assert_eq!(default.access_key_id.as_deref(), Some("AKDEFAULT"));
        assert_eq!(default.region.as_deref(), Some("us-east-1"));
        assert_eq!(default.endpoint_url, None);
    }

    #[test]
    fn missing_files_give_nothing_and_broken_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let none = Profile::read("default", Some(&dir.path().join("nope")), None).unwrap();
        assert_eq!(none, Profile::default());
        let broken = dir.path().join("credentials");
        std::fs::write(&broken, "[default\naws_access_key_id = x\n").unwrap();
        let error = Profile::read("default", Some(&broken), None).unwrap_err();
        assert!(error.contains("credentials"), "{error}");
    }
}
