-- The writer's first lease table: unused since 0006 moved every "one replica at a time" need to
-- `leases` (fenced). 0006 kept it for pods of that release during its rollout.
DROP TABLE IF EXISTS status_writer_leases;
