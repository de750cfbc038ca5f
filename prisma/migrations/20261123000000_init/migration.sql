-- CreateTable
CREATE TABLE `rm_message` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `key` VARCHAR(191) NOT NULL,
    `topic` VARCHAR(191) NOT NULL,
    `tag` VARCHAR(191) NULL,
    `body` MEDIUMTEXT NOT NULL,
    `properties` JSON NULL,
    `producer_group` VARCHAR(191) NOT NULL,
    `status` ENUM('WAITING_CONFIRM', 'SENDING', 'FINISHED', 'CANCELLED', 'DEAD') NOT NULL,
    `dead_reason` VARCHAR(32) NULL,
    `cancel_reason` VARCHAR(512) NULL,
    `order_key` VARCHAR(191) NULL,
    `delay_ms` INTEGER NULL,
    `options` JSON NOT NULL,
    `send_count` INTEGER NOT NULL DEFAULT 0,
    `check_back_count` INTEGER NOT NULL DEFAULT 0,
    `last_error` TEXT NULL,
    `workflow_id` VARCHAR(255) NOT NULL,
    `version` INTEGER NOT NULL DEFAULT 0,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updated_at` DATETIME(3) NOT NULL,
    `confirmed_at` DATETIME(3) NULL,
    `published_at` DATETIME(3) NULL,
    `finished_at` DATETIME(3) NULL,
    `cancelled_at` DATETIME(3) NULL,
    `dead_at` DATETIME(3) NULL,

    UNIQUE INDEX `rm_message_key_key`(`key`),
    INDEX `rm_message_status_created_at_idx`(`status`, `created_at`),
    INDEX `rm_message_topic_created_at_idx`(`topic`, `created_at`),
    INDEX `rm_message_producer_group_created_at_idx`(`producer_group`, `created_at`),
    INDEX `rm_message_created_at_idx`(`created_at`),
    INDEX `rm_message_status_updated_at_idx`(`status`, `updated_at`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `rm_delivery` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `message_key` VARCHAR(191) NOT NULL,
    `consumer_group` VARCHAR(191) NOT NULL,
    `status` ENUM('PENDING', 'RECEIVED', 'CONSUMED', 'DEAD') NOT NULL DEFAULT 'PENDING',
    `send_count` INTEGER NOT NULL DEFAULT 0,
    `receive_count` INTEGER NOT NULL DEFAULT 0,
    `last_error` TEXT NULL,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updated_at` DATETIME(3) NOT NULL,
    `last_sent_at` DATETIME(3) NULL,
    `received_at` DATETIME(3) NULL,
    `consumed_at` DATETIME(3) NULL,
    `dead_at` DATETIME(3) NULL,

    UNIQUE INDEX `rm_delivery_message_key_consumer_group_key`(`message_key`, `consumer_group`),
    INDEX `rm_delivery_consumer_group_status_idx`(`consumer_group`, `status`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `rm_message_event` (
    `id` BIGINT NOT NULL AUTO_INCREMENT,
    `message_key` VARCHAR(191) NOT NULL,
    `seq` INTEGER NOT NULL,
    `type` VARCHAR(64) NOT NULL,
    `consumer_group` VARCHAR(191) NULL,
    `detail` JSON NULL,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    UNIQUE INDEX `rm_message_event_message_key_seq_key`(`message_key`, `seq`),
    INDEX `rm_message_event_type_created_at_idx`(`type`, `created_at`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `rm_subscription` (
    `id` INTEGER NOT NULL AUTO_INCREMENT,
    `topic` VARCHAR(191) NOT NULL,
    `tag_expression` VARCHAR(512) NOT NULL DEFAULT '*',
    `consumer_group` VARCHAR(191) NOT NULL,
    `enabled` BOOLEAN NOT NULL DEFAULT true,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updated_at` DATETIME(3) NOT NULL,

    UNIQUE INDEX `rm_subscription_topic_consumer_group_key`(`topic`, `consumer_group`),
    INDEX `rm_subscription_consumer_group_idx`(`consumer_group`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `rm_producer` (
    `producer_group` VARCHAR(191) NOT NULL,
    `check_back_url` VARCHAR(1024) NULL,
    `check_back_task_queue` VARCHAR(255) NULL,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updated_at` DATETIME(3) NOT NULL,

    PRIMARY KEY (`producer_group`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `rm_consumer` (
    `consumer_group` VARCHAR(191) NOT NULL,
    `check_back_url` VARCHAR(1024) NULL,
    `check_back_task_queue` VARCHAR(255) NULL,
    `last_seen_at` DATETIME(3) NULL,
    `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    `updated_at` DATETIME(3) NOT NULL,

    PRIMARY KEY (`consumer_group`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CreateTable
CREATE TABLE `rm_message_archive` (
    `id` BIGINT NOT NULL,
    `key` VARCHAR(191) NOT NULL,
    `topic` VARCHAR(191) NOT NULL,
    `tag` VARCHAR(191) NULL,
    `body` MEDIUMTEXT NOT NULL,
    `properties` JSON NULL,
    `producer_group` VARCHAR(191) NOT NULL,
    `status` ENUM('WAITING_CONFIRM', 'SENDING', 'FINISHED', 'CANCELLED', 'DEAD') NOT NULL,
    `dead_reason` VARCHAR(32) NULL,
    `cancel_reason` VARCHAR(512) NULL,
    `order_key` VARCHAR(191) NULL,
    `delay_ms` INTEGER NULL,
    `options` JSON NOT NULL,
    `send_count` INTEGER NOT NULL DEFAULT 0,
    `check_back_count` INTEGER NOT NULL DEFAULT 0,
    `last_error` TEXT NULL,
    `workflow_id` VARCHAR(255) NOT NULL,
    `version` INTEGER NOT NULL DEFAULT 0,
    `created_at` DATETIME(3) NOT NULL,
    `updated_at` DATETIME(3) NOT NULL,
    `confirmed_at` DATETIME(3) NULL,
    `published_at` DATETIME(3) NULL,
    `finished_at` DATETIME(3) NULL,
    `cancelled_at` DATETIME(3) NULL,
    `dead_at` DATETIME(3) NULL,
    `deliveries` JSON NOT NULL,
    `events` JSON NOT NULL,
    `archived_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),

    UNIQUE INDEX `rm_message_archive_key_key`(`key`),
    INDEX `rm_message_archive_topic_created_at_idx`(`topic`, `created_at`),
    INDEX `rm_message_archive_producer_group_created_at_idx`(`producer_group`, `created_at`),
    INDEX `rm_message_archive_archived_at_idx`(`archived_at`),
    PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- AddForeignKey
ALTER TABLE `rm_delivery` ADD CONSTRAINT `rm_delivery_message_key_fkey` FOREIGN KEY (`message_key`) REFERENCES `rm_message`(`key`) ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE `rm_message_event` ADD CONSTRAINT `rm_message_event_message_key_fkey` FOREIGN KEY (`message_key`) REFERENCES `rm_message`(`key`) ON DELETE CASCADE ON UPDATE CASCADE;
