# The reliable-message service (see docker-compose.yml). Configuration comes from the environment:
# src/config.ts.
FROM node:20-bookworm-slim
WORKDIR /app
# Dependencies first, for layer caching; postinstall generates the Prisma client from the schema.
COPY package.json package-lock.json prisma.config.ts ./
COPY scripts/prisma-generate.sh scripts/prisma-generate.sh
COPY prisma prisma
RUN npm ci && npm cache clean --force
COPY . .
ENV NODE_ENV=production
USER node
CMD ["npx", "tsx", "src/cli/main.ts", "start"]
