"""Several hosts, one library: who this host is, its heartbeat, scan locks per shared root and change
notices between hosts (docs/several-hosts.md). The SQL is in storage/location_store.py and
storage/host_store.py."""
