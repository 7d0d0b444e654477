//! The admin API's base URL as the user wrote it, made into one the client
//! can call: `localhost:3000/admin/flags` means
//! `http://localhost:3000/admin/flags`, as it does to curl.

/// The base URL for `raw`, without a trailing `/`.
///
/// # Errors
/// An empty URL, a scheme other than http or https, or https in a build
/// without the `tls` feature; the message says what to do.
pub(crate) fn base_url(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("no admin API URL: set --url or FLAGS_URL".to_owned());
    }
    let url = match raw.split_once("://") {
        None => format!("http://{raw}"),
        Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
            "http" => format!("http://{rest}"),
            "https" if cfg!(feature = "tls") => format!("https://{rest}"),
            "https" => {
                return Err(format!(
                    "cannot reach `{raw}`: this `flags` was built without https support \
                     (build it with `--features tls`), or reach the admin API over http \
                     (a local port or a tunnel)"
                ))
            }
            _ => {
                return Err(format!(
                    "bad URL `{raw}`: the admin API is reached over http:// or https://"
                ))
            }
        },
    };
    Ok(url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_without_a_scheme_is_http() {
        let cases = [
            (
                "localhost:3000/admin/flags",
                "http://localhost:3000/admin/flags",
            ),
            (
                "127.0.0.1:3000/admin/flags/",
                "http://127.0.0.1:3000/admin/flags",
            ),
            ("[::1]:3000", "http://[::1]:3000"),
            (
                "http://localhost:3000/admin/flags",
                "http://localhost:3000/admin/flags",
            ),
            ("HTTP://localhost:3000/", "http://localhost:3000"),
            ("  localhost:3000 ", "http://localhost:3000"),
        ];
        for (raw, want) in cases {
            assert_eq!(base_url(raw).as_deref(), Ok(want), "{raw}");
        }
    }

    #[test]
    fn other_schemes_and_nothing_at_all_are_refused_with_a_reason() {
        assert!(base_url("ftp://host/x")
            .unwrap_err()
            .contains("http:// or https://"));
        assert!(base_url("").unwrap_err().contains("FLAGS_URL"));
        assert!(base_url("  ").unwrap_err().contains("FLAGS_URL"));
    }

    #[test]
    fn https_works_only_with_the_tls_feature() {
        let got = base_url("https://flags.example.com/admin/flags");
        if cfg!(feature = "tls") {
            assert_eq!(got.as_deref(), Ok("https://flags.example.com/admin/flags"));
        } else {
            assert!(got.unwrap_err().contains("--features tls"));
        }
    }
}
