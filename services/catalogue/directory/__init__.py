"""The directory: every organisation's public services as this instance received them (the read model),
fed by the catalogue events and searched by the public pages and the HSDS API."""
