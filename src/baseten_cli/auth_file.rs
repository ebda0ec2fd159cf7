//! `auth.json` as the `baseten` CLI reads and writes it (Go's encoding/json over its `AuthFile`).
