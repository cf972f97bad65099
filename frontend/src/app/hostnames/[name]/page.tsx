import type { Metadata } from "next";
import { RequireLogin } from "@/components/session";
import { HostnameView } from "./view";

export async function generateMetadata({ params }: { params: Promise<{ name: string }> }): Promise<Metadata> {
  const { name } = await params;
  return { title: decodeURIComponent(name) };
}

export default async function Page({ params }: { params: Promise<{ name: string }> }) {
  const { name } = await params;
  return (
    <RequireLogin>
      <HostnameView name={decodeURIComponent(name).toLowerCase().replace(/\.$/, "")} />
    </RequireLogin>
  );
}
