"""The print client: printer profiles, image preparation, layout, durable queue, worker, CLI."""
