-- Keys, topics, tags and group names compare exactly, as Temporal (workflow ids) and RocketMQ (topics,
-- groups, tags) compare them: with the tables' case-insensitive collation, a case variant of a group's
-- name read and changed that group's registration, and a case variant of a key found another message.
-- No rows told apart only by case can exist yet (the unique keys refused them), so nothing collides.
-- A key column in a foreign key cannot change its collation: the two are dropped, then made again.
ALTER TABLE `rm_delivery` DROP FOREIGN KEY `rm_delivery_message_key_fkey`;
ALTER TABLE `rm_message_event` DROP FOREIGN KEY `rm_message_event_message_key_fkey`;

ALTER TABLE `rm_message`
    MODIFY `key` VARCHAR(191) NOT NULL COLLATE utf8mb4_bin,
    MODIFY `topic` VARCHAR(191) NOT NULL COLLATE utf8mb4_bin,
    MODIFY `tag` VARCHAR(191) NULL COLLATE utf8mb4_bin,
    MODIFY `producer_group` VARCHAR(191) NOT NULL COLLATE utf8mb4_bin,
    MODIFY `order_key` VARCHAR(191) NULL COLLATE utf8mb4_bin;

ALTER TABLE `rm_message_archive`
    MODIFY `key` VARCHAR(191) NOT NULL COLLATE utf8mb4_bin,
    MODIFY `topic` VARCHAR(191) NOT NULL COLLATE utf8mb4_bin,
    MODIFY `tag` VARCHAR(191) NULL COLLATE utf8mb4_bin,
    MODIFY `producer_group` VARCHAR(191) NOT NULL COLLATE utf8mb4_bin,
    MODIFY `order_key` VARCHAR(191) NULL COLLATE utf8mb4_bin;

ALTER TABLE `rm_delivery`
    MODIFY `message_key` VARCHAR(191) NOT NULL COLLATE utf8mb4_bin,
    MODIFY `consumer_group` VARCHAR(191) NOT NULL COLLATE utf8mb4_bin;

ALTER TABLE `rm_message_event`
    MODIFY `message_key` VARCHAR(191) NOT NULL COLLATE utf8mb4_bin,
    MODIFY `consumer_group` VARCHAR(191) NULL COLLATE utf8mb4_bin;

ALTER TABLE `rm_subscription`
    MODIFY `topic` VARCHAR(191) NOT NULL COLLATE utf8mb4_bin,
    MODIFY `consumer_group` VARCHAR(191) NOT NULL COLLATE utf8mb4_bin;

ALTER TABLE `rm_producer` MODIFY `producer_group` VARCHAR(191) NOT NULL COLLATE utf8mb4_bin;

ALTER TABLE `rm_consumer` MODIFY `consumer_group` VARCHAR(191) NOT NULL COLLATE utf8mb4_bin;

ALTER TABLE `rm_api_token` MODIFY `group_name` VARCHAR(191) NULL COLLATE utf8mb4_bin;

ALTER TABLE `rm_delivery` ADD CONSTRAINT `rm_delivery_message_key_fkey` FOREIGN KEY (`message_key`) REFERENCES `rm_message`(`key`) ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE `rm_message_event` ADD CONSTRAINT `rm_message_event_message_key_fkey` FOREIGN KEY (`message_key`) REFERENCES `rm_message`(`key`) ON DELETE CASCADE ON UPDATE CASCADE;
