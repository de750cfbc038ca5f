import { defineConfig } from 'prisma/config';

// Prisma 7 reads the datasource URL from here, not from schema.prisma. Same default as src/config.ts.
// Migrations are plain SQL in Prisma's layout; `npm run db:migrate` applies them offline the way
// `prisma migrate deploy` records them, so the real CLI can take over where its engine is available.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    url: process.env.RMSG_DATABASE_URL || 'mysql://rmsg:rmsg@127.0.0.1:3306/reliable_message',
  },
});
