# The reliable-message service (see docker-compose.yml). Configuration comes from the environment:
# src/config.ts.

# Build: every dependency, then compile to dist/ and prebuild the workflow bundle (npm run build).
FROM node:20-bookworm-slim AS build
WORKDIR /app
# Dependencies first, for layer caching; postinstall generates the Prisma client from the schema.
COPY package.json package-lock.json prisma.config.ts ./
COPY scripts/prisma-generate.sh scripts/prisma-generate.sh
COPY prisma prisma
RUN npm ci
COPY . .
RUN npm run build

# Run: production dependencies and compiled JavaScript only (no tsx, TypeScript or webpack run).
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# No install scripts: postinstall would regenerate the Prisma client with the dev-only CLI, and the
# compiled client is already in dist/.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist dist
# The migrations the service applies at start.
COPY prisma/migrations prisma/migrations
COPY bin bin
USER node
CMD ["node", "dist/src/cli/main.js", "start"]
