/** @type {import('next').NextConfig} */
const nextConfig = {
  // Native modules and the process runner stay outside the bundle: they are loaded
  // by Node at run time from node_modules.
  serverExternalPackages: ["better-sqlite3", "@node-rs/argon2", "pino", "execa"],
  poweredByHeader: false,
  reactStrictMode: true,
};

export default nextConfig;
