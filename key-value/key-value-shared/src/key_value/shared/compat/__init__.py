"""py-key-value compatibility: the name sanitizers, entry record and serialization adapters it exposes.

Everything here exists only so that code written for py-key-value-aio 0.4.x keeps working (it imports
these from `key_value.aio._utils`, which re-exports this package) and so that a store given one of its
sanitization strategies lays out names exactly as py-key-value does. Our native layouts do not use it.
"""
