//! Process limits every service sets at start.

/// Raises the soft open-files limit to the hard limit. Each client holds a descriptor, and the
/// common default soft limit (1024) is below the services' connection caps plus their files.
/// Returns the limit now in force.
pub fn raise_nofile_limit() -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if let (Some(cur), Some(max)) = (limit.current, limit.maximum)
        && cur < max
        && setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(max),
                maximum: Some(max),
            },
        )
        .is_ok()
    {
        return max;
    }
    limit.current.unwrap_or(u64::MAX)
}
