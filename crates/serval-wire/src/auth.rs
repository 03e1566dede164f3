//! SigV4 credential parsing: who signed (access key id -> account) and for
//! which region and service. Signatures are not verified yet (opt-in, later).

use serval_core::AwsError;

/// What the credential scope of a signed request says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The access key id.
    pub access_key_id: String,
    /// The region of the scope.
    pub region: String,
    /// The signing name of the service, e.g. `lambda`.
    pub service: String,
}

/// The outcome of looking for a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// A well-formed SigV4 credential.
    Signed(Credential),
    /// No `Authorization` header and no presigned query.
    Missing,
}

/// Parses `Credential=AKID/20240101/us-east-1/lambda/aws4_request`.
fn parse_scope(scope: &str) -> Option<Credential> {
    let mut parts = scope.split('/');
    let access_key_id = parts.next()?.to_string();
    let _date = parts.next()?;
    let region = parts.next()?.to_string();
    let service = parts.next()?.to_string();
    let terminator = parts.next()?;
    if access_key_id.is_empty() || terminator != "aws4_request" {
        return None;
    }
    // The region names a namespace in the store: only AWS's shape is accepted.
    let region_ok = !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        return None;
    }
    Some(Credential {
        access_key_id,
        region,
        service,
    })
}

/// Reads the SigV4 credential from an `Authorization` header or, failing
/// that, from presigned query parameters (`X-Amz-Credential`).
pub fn parse(authorization: Option<&str>, query: &[(String, String)]) -> Result<Auth, AwsError> {
    if let Some(header) = authorization {
        let header = header.trim();
        let Some(rest) = header.strip_prefix("AWS4-HMAC-SHA256") else {
            return Err(incomplete(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
            ));
        };
        let mut credential = None;
        let mut signature = false;
        let mut signed_headers = false;
        for part in rest.split(',') {
            let part = part.trim();
            if let Some(v) = part.strip_prefix("Credential=") {
                credential = Some(v);
            } else if part.starts_with("Signature=") {
                signature = true;
            } else if part.starts_with("SignedHeaders=") {
                signed_headers = true;
            }
        }
        let mut missing = Vec::new();
        if credential.is_none() {
            missing.push("Authorization header requires 'Credential' parameter.");
        }
        if !signature {
            missing.push("Authorization header requires 'Signature' parameter.");
        }
        if !signed_headers {
            missing.push("Authorization header requires 'SignedHeaders' parameter.");
        }
        if !missing.is_empty() {
            return Err(incomplete(&format!(
                "{} Authorization={}",
                missing.join(" "),
                header
            )));
        }
        let scope = credential.unwrap_or_default();
        return parse_scope(scope).map(Auth::Signed).ok_or_else(|| {
            incomplete(&format!(
                "Credential should be scoped to a valid region. Credential={scope}"
            ))
        });
    }
    if let Some((_, scope)) = query.iter().find(|(k, _)| k == "X-Amz-Credential") {
        return parse_scope(scope)
            .map(Auth::Signed)
            .ok_or_else(|| incomplete("Credential should be scoped correctly."));
    }
    Ok(Auth::Missing)
}

fn incomplete(message: &str) -> AwsError {
    AwsError::new("IncompleteSignatureException", 403, message)
}

/// The error AWS returns to a request with no signature at all.
pub fn missing_token() -> AwsError {
    AwsError::new(
        "MissingAuthenticationTokenException",
        403,
        "Missing Authentication Token",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_credential_scope() {
        let h = "AWS4-HMAC-SHA256 Credential=123456789012/20240101/eu-west-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        let Ok(Auth::Signed(c)) = parse(Some(h), &[]) else {
            panic!("not signed")
        };
        assert_eq!(c.access_key_id, "123456789012");
        assert_eq!(c.region, "eu-west-1");
        assert_eq!(c.service, "lambda");
    }

    #[test]
    fn malformed_header_is_incomplete_signature() {
        let err = parse(Some("Bearer xyz"), &[]).unwrap_err();
        assert_eq!(err.code, "IncompleteSignatureException");
        let err = parse(Some("AWS4-HMAC-SHA256 Credential=a/b"), &[]).unwrap_err();
        assert_eq!(err.code, "IncompleteSignatureException");
    }

    #[test]
    fn presigned_query_and_missing() {
        let q = vec![(
            "X-Amz-Credential".to_string(),
            "AKID/20240101/us-west-2/s3/aws4_request".to_string(),
        )];
        assert!(matches!(parse(None, &q), Ok(Auth::Signed(c)) if c.region == "us-west-2"));
        assert_eq!(parse(None, &[]), Ok(Auth::Missing));
    }
}
