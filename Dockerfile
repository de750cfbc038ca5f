FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/prisma-generate.sh scripts/prisma-generate.sh
COPY prisma prisma
COPY prisma.config.ts ./
RUN npm ci
COPY . .
ENV NODE_ENV=production
CMD ["npx", "tsx", "src/cli/main.ts", "start"]
