//! `vibebox cp`, both ways, files and directories.

use std::os::unix::fs::PermissionsExt;

use crate::common::Cli;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_and_a_directory_copy_in_and_back_out_unchanged() {
    let cli = Cli::signed_in("uma").await;
    let env = cli.running_env("web").await;
    let local = cli.config.join("work");
    std::fs::create_dir_all(local.join("src/nested")).unwrap();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(local.join("src/big.bin"), &big).unwrap();
    std::fs::write(local.join("src/nested/run.sh"), "#!/bin/sh\necho ran\n").unwrap();
    std::fs::set_permissions(
        local.join("src/nested/run.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();

    // A directory into the home directory (it lands under its own name).
    let src = local.join("src");
    cli.run(&["cp", src.to_str().unwrap(), &format!("{env}:/tmp/")])
        .await
        .ok();
    let ran = cli
        .run(&["exec", &env, "--", "/tmp/src/nested/run.sh"])
        .await;
    assert_eq!(ran.ok(), "ran\n", "the mode came along");

    // And back out, under a new name.
    let back = local.join("back");
    cli.run(&["cp", &format!("{env}:/tmp/src"), back.to_str().unwrap()])
        .await
        .ok();
    assert_eq!(std::fs::read(back.join("big.bin")).unwrap(), big);
    assert_eq!(
        std::fs::read_to_string(back.join("nested/run.sh")).unwrap(),
        "#!/bin/sh\necho ran\n"
    );

    // A single file, to stdout.
    let out = cli
        .run(&["cp", &format!("{env}:/tmp/src/nested/run.sh"), "-"])
        .await;
    assert_eq!(out.ok(), "#!/bin/sh\necho ran\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_download_leaves_nothing_behind() {
    let cli = Cli::signed_in("val").await;
    let env = cli.running_env("web").await;
    let target = cli.config.join("missing.txt");
    let run = cli
        .run(&[
            "cp",
            &format!("{env}:/no/such/file"),
            target.to_str().unwrap(),
        ])
        .await;
    assert_ne!(run.code, 0, "{run:?}");
    assert!(!target.exists());
    let leftovers: Vec<_> = std::fs::read_dir(&cli.config)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("vibebox"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
