//! openrouter-emulator: a local OpenRouter-compatible key-management API (see README.md).
