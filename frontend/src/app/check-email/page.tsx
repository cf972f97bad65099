import type { Metadata } from "next";
import { CheckEmail } from "./view";

export const metadata: Metadata = { title: "Check your email" };

export default function Page() {
  return <CheckEmail />;
}
