"""Getting models onto a device: hub ids or local directories at pinned revisions, offline
mode and licences (``hub``), device choice and the inference engine (``loader``),
CTranslate2 conversion (``conversion``), tiny untrained test models (``tiny_models``)
and the ``tarjama-models`` operator command (``cli``). Knows engines, never the core
or any transport."""
