"""Router: which department owns a ticket, its priority and its SLA, and why."""
