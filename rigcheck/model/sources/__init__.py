"""Where Models come from: config.json, GGUF headers, safetensors headers, the catalogue."""
