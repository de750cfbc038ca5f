-- CreateTable
CREATE TABLE `rm_redrive` (
    `id` VARCHAR(64) NOT NULL,
    `requested_by` VARCHAR(64) NOT NULL,
    `action` VARCHAR(16) NOT NULL,
    `filter` JSON NOT NULL,
    `rate_per_second` INTEGER NOT NULL,
    `status` VARCHAR(16) NOT NULL,
    `total` INTEGER NOT NULL,
    `done` INTEGER NOT NULL DEFAULT 0,
    `skipped` INTEGER NOT NULL DEFAULT 0,
    `failed` INTEGER NOT NULL DEFAULT 0,
    `last_error` TEXT NULL,
    `max_message_id` BIGINT NOT NULL,
    `cursor_id` BIGINT NOT NULL DEFAULT 0,
    `workflow_id` VARCHAR(255) NOT NULL,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updated_at` DATETIME(3) NOT NULL,
    `finished_at` DATETIME(3) NULL,

    INDEX `rm_redrive_created_at_idx`(`created_at`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `rm_audit_run` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `triggered_by` VARCHAR(16) NOT NULL,
    `range_from` DATETIME(3) NOT NULL,
    `range_to` DATETIME(3) NOT NULL,
    `repair` BOOLEAN NOT NULL,
    `findings` JSON NOT NULL,
    `repaired` JSON NOT NULL,
    `started_at` DATETIME(3) NOT NULL,
    `finished_at` DATETIME(3) NOT NULL,

    INDEX `rm_audit_run_started_at_idx`(`started_at`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
