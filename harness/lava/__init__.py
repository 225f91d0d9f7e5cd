"""shmconform on LAVA (the scheduler behind KernelCI's labs).

  names.py     gtest name <-> LAVA test case name (reversible)
  artifacts.py what a job deploys: kernel, busybox ramdisk, the suite overlay
  job.py       the LAVA job (`shmconform lava job`) and its inline test definition
  dispatcher.py lava-run on this machine: device and dispatcher YAML, validate, run
  results.py   LAVA results as they come back: a lava-run job log, a server's API
  importer.py  LAVA results -> a shmconform run (report.json and friends)
  cli.py       the `lava job|import|validate` verbs
The `lava:` target (the same job, run by lava-run, in a normal run) is the
family module harness/targets/lava.py.

The guest side (the Lava-Test Test Definition and its runner script) lives in
ci/lava/ so a lab can take it from the git repository.
"""
