[migration.ring]
workload = migration
groups = migration
guest = verify
rate = 2000
dirty = ring
time_limit = 60
description = dirty pages from the dirty ring instead of the bitmap
