//! The OpenRouter key-management client: typed models, validation, retries and paging.
