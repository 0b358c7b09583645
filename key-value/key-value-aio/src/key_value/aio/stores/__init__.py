"""Key-value stores; each lives in its own subpackage (`key_value.aio.stores.memory`, ...)."""
