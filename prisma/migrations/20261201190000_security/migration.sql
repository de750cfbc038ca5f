-- Per-group secrets that sign HTTP check-back calls. Groups that already have a check-back URL get a
-- random one (nobody knows it, so they re-register with their own to verify the signatures).
ALTER TABLE `rm_producer` ADD COLUMN `check_back_secret` VARCHAR(255) NULL;
ALTER TABLE `rm_consumer` ADD COLUMN `check_back_secret` VARCHAR(255) NULL;
UPDATE `rm_producer` SET `check_back_secret` = SHA2(UUID(), 256) WHERE `check_back_url` IS NOT NULL;
UPDATE `rm_consumer` SET `check_back_secret` = SHA2(UUID(), 256) WHERE `check_back_url` IS NOT NULL;

-- API tokens bound to a role (and a group for producer/consumer); only the SHA-256 of a token is kept.
CREATE TABLE `rm_api_token` (
    `id` VARCHAR(32) NOT NULL,
    `token_hash` CHAR(64) NOT NULL,
    `role` VARCHAR(16) NOT NULL,
    `group_name` VARCHAR(191) NULL,
    `label` VARCHAR(191) NULL,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `last_used_at` DATETIME(3) NULL,
    `revoked_at` DATETIME(3) NULL,

    UNIQUE INDEX `rm_api_token_token_hash_key`(`token_hash`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
